//! The store contract over the memory store.

use std::sync::Arc;

use super::conformance::store_conformance;
use super::{MemoryStore, Store};

fn memory() -> ((), Arc<dyn Store>) {
    ((), Arc::new(MemoryStore::new()))
}

store_conformance!(memory());
