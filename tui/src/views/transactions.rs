//! Transactions: the live table (filtered), and on Enter the detail pane with counters,
//! push targets and the timeline (times relative to the transaction's start).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap};
use tessera_config::admin::TransactionDetail;

use super::format::{ago, fit, span};
use super::{block, load_line};
use crate::app::{App, Detail};
use crate::theme;
use crate::update::short;

/// Detail pane beside the table from this width; below it, the pane replaces the table.
const SIDE_BY_SIDE: u16 = 120;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.transactions;
    if t.detail == Detail::Closed {
        return table(app, area, buf);
    }
    if area.width >= SIDE_BY_SIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(area);
        table(app, left, buf);
        detail(app, right, buf);
    } else {
        detail(app, area, buf);
    }
}

fn table(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.transactions;
    let rows = t.visible();
    let mut title = vec![Span::styled(
        format!(" Transactions ({}) ", rows.len()),
        theme::header(),
    )];
    if !t.filter.is_empty() {
        title.push(Span::styled(
            format!("filter: {} ", t.filter.text()),
            theme::warn(),
        ));
    }
    let b = block(Line::from(title), true);
    if let Some(line) = load_line(&t.load).filter(|_| rows.is_empty()) {
        Paragraph::new(line).block(b).render(area, buf);
        return;
    }
    let wide = area.width >= 100;
    let header = if wide {
        Row::new([
            "ID", "TYPE", "METHOD", "STATE", "USER", "AGE", "TTL", "NODE",
        ])
    } else {
        Row::new(["ID", "TYPE", "STATE", "USER", "AGE", "TTL"])
    }
    .style(theme::header());
    let body = rows.iter().map(|r| {
        let ttl = if r.status == "pending" {
            span(r.deadline.saturating_sub(app.now))
        } else {
            "-".to_owned()
        };
        let state = Span::styled(r.state.clone(), theme::status(&r.status));
        let user = r.user_id.clone().unwrap_or_default();
        if wide {
            Row::new(vec![
                Span::raw(short(&r.transaction_id).to_owned()),
                Span::raw(r.type_name.clone()),
                Span::raw(r.method.clone()),
                state,
                Span::raw(user),
                Span::raw(ago(app.now, r.created_at)),
                Span::raw(ttl),
                Span::raw(r.node.clone().unwrap_or_default()),
            ])
        } else {
            Row::new(vec![
                Span::raw(short(&r.transaction_id).to_owned()),
                Span::raw(r.type_name.clone()),
                state,
                Span::raw(user),
                Span::raw(ago(app.now, r.created_at)),
                Span::raw(ttl),
            ])
        }
    });
    let widths: &[Constraint] = if wide {
        &[
            Constraint::Length(9),
            Constraint::Length(14),
            Constraint::Length(16),
            Constraint::Length(10),
            Constraint::Min(8),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(10),
        ]
    } else {
        &[
            Constraint::Length(9),
            Constraint::Length(12),
            Constraint::Length(10),
            Constraint::Min(8),
            Constraint::Length(5),
            Constraint::Length(5),
        ]
    };
    let mut state = TableState::default().with_selected(Some(t.selected_index()));
    StatefulWidget::render(
        Table::new(body, widths.to_vec())
            .header(header)
            .row_highlight_style(theme::selected())
            .highlight_symbol("› ")
            .block(b),
        area,
        buf,
        &mut state,
    );
}

fn detail(app: &App, area: Rect, buf: &mut Buffer) {
    let (title, lines) = match &app.transactions.detail {
        Detail::Closed => return,
        Detail::Loading { id } => (
            short(id).to_owned(),
            vec![Line::styled("loading…", theme::dim())],
        ),
        Detail::Failed { id, error } => (
            short(id).to_owned(),
            vec![Line::styled(
                format!("could not load: {error}"),
                theme::bad(),
            )],
        ),
        Detail::Open(d) => (
            d.summary.transaction_id.clone(),
            detail_lines(app, d, area.width),
        ),
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(block(
            Span::styled(format!(" {title} "), theme::header()),
            true,
        ))
        .render(area, buf);
}

fn field(name: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<11}"), theme::dim()),
        Span::raw(value.into()),
    ])
}

fn detail_lines(app: &App, d: &TransactionDetail, width: u16) -> Vec<Line<'static>> {
    let s = &d.summary;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{:<11}", "status"), theme::dim()),
            Span::styled(
                format!("{} / {}", s.status, s.state),
                theme::status(&s.status),
            ),
            Span::raw(
                s.reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
            ),
        ]),
        field("type", format!("{} ({})", s.type_name, s.method)),
        field("user", s.user_id.clone().unwrap_or_else(|| "-".into())),
        field("client", s.client_id.clone()),
        field("started", format!("{} ago", ago(app.now, s.created_at))),
        field(
            "deadline",
            match s.finished_at {
                Some(f) => format!("finished after {}", span(f.saturating_sub(s.created_at))),
                None => ago(app.now, s.deadline),
            },
        ),
        field(
            "attempts",
            format!(
                "{}/{}  resends {}",
                d.used_authentication_attempts,
                d.max_authentication_attempts
                    .map_or("∞".to_owned(), |m| m.to_string()),
                d.resends_used
            ),
        ),
    ];
    if let Some(n) = &s.node {
        lines.push(field("node", n.clone()));
    }
    if let Some(p) = &d.phone_number_masked {
        lines.push(field("phone", p.clone()));
    }
    if let Some(f) = &d.fallback {
        lines.push(field("fallback", f.clone()));
    }
    if let Some(c) = &d.callback_uri {
        lines.push(field("callback", c.clone()));
    }
    for t in &d.targets {
        let delivered = match t.delivered {
            Some(true) => "delivered",
            Some(false) => "not delivered",
            None => "sending",
        };
        let fetched = if t.fetched { ", fetched" } else { "" };
        lines.push(field(
            "device",
            format!("{} {delivered}{fetched}", fit(&t.device_id, 13)),
        ));
    }
    lines.push(Line::styled("timeline", theme::header()));
    let room = usize::from(width.saturating_sub(12));
    for e in &d.timeline {
        let at = format!("+{:<7}", span(e.occurred.saturating_sub(s.created_at)));
        let mut text = e.event_name.clone();
        if let Some(detail) = &e.detail {
            text.push_str(": ");
            text.push_str(detail);
        }
        lines.push(Line::from(vec![
            Span::styled(at, theme::dim()),
            Span::raw(fit(&text, room)),
        ]));
    }
    lines
}
