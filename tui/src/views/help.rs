//! The help overlay (`?`): every key, by where it works.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{block, centered};
use crate::theme;

/// (key, what it does); an empty key starts a section.
pub const KEYS: &[(&str, &str)] = &[
    ("", "Everywhere"),
    (
        "1..5 Tab S-Tab",
        "Overview, Transactions, Events, Config, Dead letters",
    ),
    ("/", "filter the current list (Enter apply, Esc cancel)"),
    ("R", "re-read the current list"),
    ("? / Esc", "this help / close the overlay, editor or pane"),
    ("q / ^C", "quit"),
    ("j k ↑ ↓", "move; PgUp PgDn page; g G first / last"),
    ("", "Transactions"),
    ("Enter", "detail pane with the timeline"),
    ("c", "cancel (asks y / n)"),
    ("/", "type:NAME state:STATE user:ID or any text"),
    ("", "Events"),
    ("p", "pause / resume the live tail"),
    ("", "Config"),
    ("h l ← →", "resources / items / fields column"),
    (
        "e / Enter",
        "edit the field; Enter saves (PUT), Esc cancels",
    ),
    ("", "Dead letters"),
    ("Enter", "inspect"),
    ("r", "replay (one more delivery try)"),
];

pub fn render(area: Rect, buf: &mut Buffer) {
    let r = centered(area, 76, KEYS.len() as u16 + 2);
    Clear.render(r, buf);
    let lines: Vec<Line<'_>> = KEYS
        .iter()
        .map(|(k, what)| {
            if k.is_empty() {
                Line::styled(*what, theme::header())
            } else {
                Line::from(vec![
                    Span::styled(format!("  {k:<15}"), theme::key()),
                    Span::raw(*what),
                ])
            }
        })
        .collect();
    Paragraph::new(lines)
        .block(block(Span::styled(" Keys ", theme::header()), true))
        .render(r, buf);
}
