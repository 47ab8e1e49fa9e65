//! `destek orders ping`: one authenticated read from the configured order backend, and
//! what is wrong in plain words (a bad key, a missing scope, a wrong URL).

use super::BackendError;
use super::shopify::Shopify;
use super::woocommerce::WooCommerce;
use crate::config::OrdersSource;

/// What the shop answered, or what is wrong with the settings or the shop's answer.
pub async fn ping(source: &OrdersSource) -> Result<String, String> {
    let plain = |e: BackendError| e.0;
    match source {
        OrdersSource::WooCommerce(settings) => WooCommerce::new(settings.clone())
            .map_err(plain)?
            .ping()
            .await
            .map_err(plain),
        OrdersSource::Shopify(settings) => Shopify::new(settings.clone())
            .map_err(plain)?
            .ping()
            .await
            .map_err(plain),
        OrdersSource::Http { base_url, .. } => Ok(format!(
            "orders.source http ({base_url}): the shop's own API has no read without an order \
             number; try a lookup in `destek chat` against it"
        )),
        OrdersSource::Sqlite | OrdersSource::Memory => {
            Ok("orders come from destek's own database: nothing to reach".into())
        }
    }
}
