//! The Transactions panel's state: a live table (a list read, then kept current by `/stream`
//! records), its filter and the detail pane.

use tessera_config::admin::{TransactionDetail, TransactionSummary};

use super::Load;
use crate::client::TransactionQuery;

/// The most rows kept; older ones fall off the bottom.
pub const MAX_ROWS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transactions {
    /// Newest first.
    pub items: Vec<TransactionSummary>,
    /// The selected row's id; `None` follows the newest row.
    pub selected: Option<String>,
    pub filter: TxnFilter,
    pub load: Load,
    pub detail: Detail,
}

impl Default for Transactions {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            selected: None,
            filter: TxnFilter::default(),
            load: Load::Loading,
            detail: Detail::Closed,
        }
    }
}

/// The detail pane (Enter on a row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Closed,
    Loading { id: String },
    Open(Box<TransactionDetail>),
    Failed { id: String, error: String },
}

impl Detail {
    pub fn id(&self) -> Option<&str> {
        match self {
            Detail::Closed => None,
            Detail::Loading { id } | Detail::Failed { id, .. } => Some(id),
            Detail::Open(d) => Some(&d.summary.transaction_id),
        }
    }
}

/// `type:sms state:pending user:alice` (any subset); a bare word matches any column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnFilter {
    pub type_name: Option<String>,
    pub state: Option<String>,
    pub user: Option<String>,
    pub text: Option<String>,
}

impl TxnFilter {
    pub fn parse(s: &str) -> Self {
        let mut f = TxnFilter::default();
        let mut words = Vec::new();
        for word in s.split_whitespace() {
            match word.split_once(':') {
                Some(("type", v)) if !v.is_empty() => f.type_name = Some(v.to_owned()),
                Some(("state", v)) if !v.is_empty() => f.state = Some(v.to_owned()),
                Some(("user", v)) if !v.is_empty() => f.user = Some(v.to_owned()),
                _ => words.push(word),
            }
        }
        if !words.is_empty() {
            f.text = Some(words.join(" "));
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        *self == TxnFilter::default()
    }

    /// The filter as typed back (`/` reopens it with this text).
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.type_name {
            parts.push(format!("type:{v}"));
        }
        if let Some(v) = &self.state {
            parts.push(format!("state:{v}"));
        }
        if let Some(v) = &self.user {
            parts.push(format!("user:{v}"));
        }
        if let Some(v) = &self.text {
            parts.push(v.clone());
        }
        parts.join(" ")
    }

    /// The server-side part (the list read); the free text is matched here only.
    pub fn query(&self, limit: u32) -> TransactionQuery {
        TransactionQuery {
            state: self.state.clone(),
            type_name: self.type_name.clone(),
            user_id: self.user.clone(),
            limit: Some(limit),
        }
    }

    pub fn matches(&self, t: &TransactionSummary) -> bool {
        let user = t.user_id.as_deref().unwrap_or("");
        self.type_name.as_ref().is_none_or(|v| t.type_name == *v)
            && self
                .state
                .as_ref()
                .is_none_or(|v| t.status == *v || t.state == *v)
            && self.user.as_ref().is_none_or(|v| user == v)
            && self.text.as_ref().is_none_or(|v| {
                [
                    t.transaction_id.as_str(),
                    &t.type_name,
                    &t.method,
                    &t.status,
                    &t.state,
                    user,
                    &t.client_id,
                ]
                .iter()
                .any(|c| c.contains(v.as_str()))
            })
    }
}

impl Transactions {
    /// Rows passing the filter, newest first.
    pub fn visible(&self) -> Vec<&TransactionSummary> {
        self.items
            .iter()
            .filter(|t| self.filter.matches(t))
            .collect()
    }

    /// Index of the selected row among the visible ones (0 when following the newest).
    pub fn selected_index(&self) -> usize {
        let Some(id) = &self.selected else { return 0 };
        self.visible()
            .iter()
            .position(|t| &t.transaction_id == id)
            .unwrap_or(0)
    }

    pub fn selected_row(&self) -> Option<&TransactionSummary> {
        self.visible().get(self.selected_index()).copied()
    }

    /// Moves the selection by `delta` rows; moving to the top follows the newest again.
    pub fn select_by(&mut self, delta: isize) {
        let rows = self.visible();
        if rows.is_empty() {
            self.selected = None;
            return;
        }
        let at = self.selected_index().saturating_add_signed(delta);
        let at = at.min(rows.len() - 1);
        self.selected = (at > 0).then(|| rows[at].transaction_id.clone());
    }

    pub fn select_last(&mut self) {
        self.selected = self.visible().last().map(|t| t.transaction_id.clone());
    }

    /// Replaces the table with a list read.
    pub fn replace(&mut self, mut items: Vec<TransactionSummary>) {
        items.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        items.truncate(MAX_ROWS);
        self.items = items;
        self.load = Load::Ready;
    }

    /// Applies a `/stream` record: a known transaction is updated (never to an older
    /// version), a new one matching the filter is inserted in creation order.
    pub fn upsert(&mut self, t: TransactionSummary) {
        if let Some(row) = self
            .items
            .iter_mut()
            .find(|r| r.transaction_id == t.transaction_id)
        {
            if t.version >= row.version {
                *row = t;
            }
            return;
        }
        if !self.filter.matches(&t) {
            return;
        }
        let at = self
            .items
            .iter()
            .position(|r| r.created_at <= t.created_at)
            .unwrap_or(self.items.len());
        self.items.insert(at, t);
        self.items.truncate(MAX_ROWS);
    }
}
