//! The Config panel's state: three columns (collection, item, field), the inline field editor
//! and the validation messages a rejected save brought back, kept next to their fields.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Input, Load};
use crate::resources::Collection;

/// Which column the arrow keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Collections,
    Items,
    Fields,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigState {
    /// Index into [`Collection::BROWSED`].
    pub collection: usize,
    /// The collection's items as read (secrets masked).
    pub items: Vec<Value>,
    pub item: usize,
    pub field: usize,
    pub focus: Focus,
    /// Substring matched against item names.
    pub filter: String,
    /// Messages from the last `422` for the item they were about: field path → message.
    pub field_errors: BTreeMap<String, String>,
    pub load: Load,
}

impl Default for ConfigState {
    fn default() -> Self {
        Self {
            collection: 0,
            items: Vec::new(),
            item: 0,
            field: 0,
            focus: Focus::Collections,
            filter: String::new(),
            field_errors: BTreeMap::new(),
            load: Load::Loading,
        }
    }
}

/// The inline editor of one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editor {
    pub collection: Collection,
    pub name: String,
    pub field: String,
    pub input: Input,
    pub phase: EditPhase,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditPhase {
    Typing,
    /// The PUT is on its way.
    Saving,
    /// Refused without a per-field message (not JSON, a conflict, unreachable).
    Refused(String),
}

impl ConfigState {
    pub fn current(&self) -> Collection {
        Collection::BROWSED[self.collection.min(Collection::BROWSED.len() - 1)]
    }

    /// Items passing the filter, in the server's order (by name).
    pub fn visible(&self) -> Vec<&Value> {
        let c = self.current();
        let f = self.filter.to_lowercase();
        self.items
            .iter()
            .filter(|v| f.is_empty() || c.name_of(v).unwrap_or("").to_lowercase().contains(&f))
            .collect()
    }

    pub fn selected_item(&self) -> Option<&Value> {
        let rows = self.visible();
        rows.get(self.item.min(rows.len().saturating_sub(1)))
            .copied()
    }

    pub fn selected_name(&self) -> Option<String> {
        self.selected_item()
            .and_then(|v| self.current().name_of(v))
            .map(str::to_owned)
    }

    /// The selected item's fields, by key.
    pub fn fields(&self) -> Vec<(&str, &Value)> {
        match self.selected_item() {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.as_str(), v)).collect(),
            _ => Vec::new(),
        }
    }

    pub fn selected_field(&self) -> Option<(&str, &Value)> {
        let fields = self.fields();
        fields
            .get(self.field.min(fields.len().saturating_sub(1)))
            .copied()
    }

    /// The message for `field` from the last rejected save: the server names fields by path
    /// (`time_to_live`, `versions[0].push_config`), matched on any path component.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.field_errors
            .iter()
            .find(|(path, _)| path.split(['.', '[', ']']).any(|part| part == field))
            .map(|(_, m)| m.as_str())
    }

    /// Messages that name no field of the selected item.
    pub fn unplaced_errors(&self) -> Vec<(&str, &str)> {
        let fields = self.fields();
        self.field_errors
            .iter()
            .filter(|(path, _)| {
                !path
                    .split(['.', '[', ']'])
                    .any(|part| fields.iter().any(|(k, _)| *k == part))
            })
            .map(|(p, m)| (p.as_str(), m.as_str()))
            .collect()
    }

    /// Moves within the focused column.
    pub fn move_by(&mut self, delta: isize) {
        match self.focus {
            Focus::Collections => {
                let max = Collection::BROWSED.len() - 1;
                self.collection = self.collection.saturating_add_signed(delta).min(max);
            }
            Focus::Items => {
                let max = self.visible().len().saturating_sub(1);
                let item = self.item.saturating_add_signed(delta).min(max);
                if item != self.item {
                    self.item = item;
                    self.field = 0;
                    self.field_errors.clear();
                }
            }
            Focus::Fields => {
                let max = self.fields().len().saturating_sub(1);
                self.field = self.field.saturating_add_signed(delta).min(max);
            }
        }
    }

    /// A list read for the current collection.
    pub fn replace(&mut self, items: Vec<Value>) {
        self.items = items;
        self.load = Load::Ready;
        self.item = self.item.min(self.visible().len().saturating_sub(1));
        self.field = self.field.min(self.fields().len().saturating_sub(1));
    }

    /// A saved object replaces the item of that name.
    pub fn store(&mut self, c: Collection, name: &str, value: Value) {
        if c != self.current() {
            return;
        }
        if let Some(item) = self.items.iter_mut().find(|v| c.name_of(v) == Some(name)) {
            *item = value;
        }
    }
}

/// The text an editor opens with: a string as is, anything else as compact JSON.
pub fn edit_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value typed for a field whose current value is `old`: text for a text field, JSON for
/// the rest (numbers, booleans, lists, maps).
pub fn parse_edit(old: &Value, text: &str) -> Result<Value, String> {
    match old {
        Value::String(_) => Ok(Value::String(text.to_owned())),
        // `null` fields (unset options) take JSON, falling back to text.
        Value::Null => {
            Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
        }
        _ => serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}")),
    }
}
