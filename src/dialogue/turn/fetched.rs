//! The orders a turn has fetched from the backend, by number: one or two per turn, so a
//! list searched in order beats a hash map (no hashing of the number on every template
//! variable that reads the order).

use crate::orders::Order;

#[derive(Debug, Default)]
pub(super) struct Fetched(Vec<(String, Option<Order>)>);

impl Fetched {
    /// What the backend answered for `id` (`None` inside: no such order).
    pub fn get(&self, id: &str) -> Option<&Option<Order>> {
        self.0.iter().find(|(k, _)| k == id).map(|(_, o)| o)
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.0.iter().any(|(k, _)| k == id)
    }

    /// Keeps the backend's answer for `id`, replacing an earlier one.
    pub fn insert(&mut self, id: String, order: Option<Order>) {
        match self.0.iter_mut().find(|(k, _)| *k == id) {
            Some((_, o)) => *o = order,
            None => self.0.push((id, order)),
        }
    }

    pub fn remove(&mut self, id: &str) {
        self.0.retain(|(k, _)| k != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_like_a_map() {
        let order = crate::orders::demo_orders(crate::orders::today_utc())
            .into_iter()
            .next();
        let mut f = Fetched::default();
        assert!(f.get("1").is_none() && !f.contains_key("1"));
        f.insert("1".into(), None);
        f.insert("2".into(), order.clone());
        assert_eq!(f.get("1").map(Option::is_some), Some(false));
        f.insert("1".into(), order.clone());
        assert_eq!(f.get("1").map(Option::is_some), Some(true));
        assert_eq!(f.0.len(), 2);
        f.remove("1");
        assert!(!f.contains_key("1") && f.contains_key("2"));
    }
}
