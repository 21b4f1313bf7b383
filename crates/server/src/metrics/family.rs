//! A family of series keyed by one label value (a route, a homeserver
//! call, a job queue). Reads take a shared lock on the map; the exclusive
//! lock is taken only to add a series, which happens once per label value.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

#[derive(Debug, Default)]
pub struct Family<V>(RwLock<HashMap<String, Arc<V>>>);

impl<V: Default> Family<V> {
    /// The series of `label`, made on first use.
    pub fn get_or_insert(&self, label: &str) -> Arc<V> {
        if let Some(series) = self.0.read().unwrap_or_else(|e| e.into_inner()).get(label) {
            return series.clone();
        }
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(label.to_owned())
            .or_default()
            .clone()
    }

    /// Every series, sorted by label, for a scrape.
    pub fn sorted(&self) -> Vec<(String, Arc<V>)> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all
    }
}
