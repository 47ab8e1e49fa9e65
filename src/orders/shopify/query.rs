//! The GraphQL documents sent to Shopify's Admin API: only the fields destek maps, so each
//! call stays cheap against the cost-based rate limit.

/// The fields of an order destek reads (`map::ShOrder`).
const ORDER_FIELDS: &str = "id name email phone createdAt cancelledAt \
  displayFinancialStatus displayFulfillmentStatus returnStatus currencyCode \
  totalPriceSet { shopMoney { amount currencyCode } } paymentGatewayNames \
  shippingAddress { address1 address2 city province zip country phone } \
  billingAddress { phone } \
  lineItems(first: 50) { nodes { sku name quantity originalUnitPriceSet { shopMoney { amount } } } } \
  fulfillments(first: 10) { createdAt deliveredAt estimatedDeliveryAt inTransitAt displayStatus \
    trackingInfo(first: 5) { company number url } \
    fulfillmentLineItems(first: 50) { nodes { id quantity lineItem { sku name } } } } \
  refunds(first: 10) { createdAt totalRefundedSet { shopMoney { amount } } }";

/// Orders matching a search (`name:1001`, `email:…`), newest first.
pub fn find_orders() -> String {
    format!(
        "query FindOrders($query: String!, $first: Int!) {{ \
         orders(first: $first, query: $query, sortKey: CREATED_AT, reverse: true) \
         {{ nodes {{ {ORDER_FIELDS} }} }} }}"
    )
}

/// The cheapest authenticated read that needs the `read_orders` scope.
pub const PING: &str = "query Ping { shop { name } orders(first: 1) { nodes { name } } }";

pub const ORDER_CANCEL: &str = "mutation OrderCancel($orderId: ID!, $staffNote: String) { \
  orderCancel(orderId: $orderId, reason: CUSTOMER, refund: true, restock: true, \
    notifyCustomer: true, staffNote: $staffNote) { \
    job { id done } orderCancelUserErrors { field message code } } }";

/// Whether an asynchronous job (the cancellation) has run.
pub const JOB: &str = "query Job($id: ID!) { job(id: $id) { id done } }";

/// Whether the order is cancelled now.
pub const ORDER_CANCELLED_AT: &str =
    "query OrderCancelledAt($id: ID!) { order(id: $id) { id cancelledAt } }";

pub const RETURN_REQUEST: &str = "mutation ReturnRequest($input: ReturnRequestInput!) { \
  returnRequest(input: $input) { return { id status } userErrors { field message } } }";

pub const ORDER_UPDATE: &str = "mutation OrderUpdate($input: OrderInput!) { \
  orderUpdate(input: $input) { order { id } userErrors { field message } } }";
