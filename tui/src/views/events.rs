//! Events: the live tail (newest on top), filtered; paused, it holds new events and says how
//! many are waiting.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, Widget};

use super::format::ago;
use super::{block, load_line};
use crate::app::{App, Tail};
use crate::theme;
use crate::update::short;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let ev = &app.events;
    let rows = ev.visible();
    let mut title = vec![Span::styled(
        format!(" Events ({}) ", rows.len()),
        theme::header(),
    )];
    match &ev.tail {
        Tail::Live => title.push(Span::styled("live ", theme::ok())),
        Tail::Paused { held, missed } => title.push(Span::styled(
            format!(
                "PAUSED +{} new{} ",
                held.len(),
                if *missed > 0 {
                    format!(" ({missed} dropped)")
                } else {
                    String::new()
                }
            ),
            theme::warn(),
        )),
    }
    if !ev.filter.is_empty() {
        title.push(Span::styled(
            format!("filter: {} ", ev.filter),
            theme::warn(),
        ));
    }
    let b = block(Line::from(title), true);
    if let Some(line) = load_line(&ev.load).filter(|_| rows.is_empty()) {
        Paragraph::new(line).block(b).render(area, buf);
        return;
    }
    let wide = area.width >= 100;
    let header = if wide {
        Row::new(["AGE", "EVENT", "TYPE", "TXN", "USER", "CLIENT", "DETAIL"])
    } else {
        Row::new(["AGE", "EVENT", "TXN", "USER", "DETAIL"])
    }
    .style(theme::header());
    let body = rows.iter().skip(ev.scroll).map(|e| {
        let txn = e
            .transaction_id
            .as_deref()
            .map(short)
            .unwrap_or("-")
            .to_owned();
        let user = e.user_id.clone().unwrap_or_default();
        let detail = e.detail.clone().unwrap_or_default();
        let age = ago(app.now, e.occurred);
        if wide {
            Row::new(vec![
                age,
                e.event_name.clone(),
                e.event_type.clone(),
                txn,
                user,
                e.client_id.clone().unwrap_or_default(),
                detail,
            ])
        } else {
            Row::new(vec![age, e.event_name.clone(), txn, user, detail])
        }
    });
    let widths = if wide {
        vec![
            Constraint::Length(5),
            Constraint::Length(38),
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(14),
            Constraint::Length(12),
            Constraint::Min(10),
        ]
    } else {
        vec![
            Constraint::Length(5),
            Constraint::Length(30),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Min(6),
        ]
    };
    Table::new(body, widths)
        .header(header)
        .block(b)
        .render(area, buf);
}
