//! Dead letters: callbacks given up on, oldest first; Enter inspects one in full, `r` replays
//! it and the outcome is shown under the list.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap};

use super::format::ago;
use super::{block, load_line};
use crate::app::{App, Inspect, Replay};
use crate::theme;
use crate::update::short;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let d = &app.dead_letters;
    let inspect_height = if d.inspect == Inspect::Open { 8 } else { 0 };
    let [list, inspect, outcome] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(inspect_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let rows = d.visible();
    let mut title = format!(" Dead letters ({}) ", rows.len());
    if !d.filter.is_empty() {
        title.push_str(&format!("filter: {} ", d.filter));
    }
    let b = block(Span::styled(title, theme::header()), true);
    if let Some(line) = load_line(&d.load).filter(|_| rows.is_empty()) {
        Paragraph::new(line).block(b).render(list, buf);
    } else if rows.is_empty() {
        Paragraph::new(Line::styled(
            "no dead letters: every callback was delivered",
            theme::ok(),
        ))
        .block(b)
        .render(list, buf);
    } else {
        let body = rows.iter().map(|l| {
            Row::new(vec![
                short(&l.id).to_owned(),
                short(&l.transaction_id).to_owned(),
                l.tries.to_string(),
                ago(app.now, l.created_at),
                l.callback_uri.clone(),
                l.last_error.clone(),
            ])
        });
        let widths = [
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Percentage(40),
            Constraint::Min(10),
        ];
        let mut state = TableState::default().with_selected(Some(d.selected.min(rows.len() - 1)));
        StatefulWidget::render(
            Table::new(body, widths)
                .header(
                    Row::new(["ID", "TXN", "TRIES", "AGE", "CALLBACK", "LAST ERROR"])
                        .style(theme::header()),
                )
                .row_highlight_style(theme::selected())
                .highlight_symbol("› ")
                .block(b),
            list,
            buf,
            &mut state,
        );
    }
    if d.inspect == Inspect::Open
        && let Some(l) = d.selected_letter()
    {
        let field = |k: &str, v: String| {
            Line::from(vec![
                Span::styled(format!("{k:<12}"), theme::dim()),
                Span::raw(v),
            ])
        };
        Paragraph::new(vec![
            field("id", l.id.clone()),
            field("transaction", l.transaction_id.clone()),
            field("callback", l.callback_uri.clone()),
            field("tries", l.tries.to_string()),
            field("since", format!("{} ago", ago(app.now, l.created_at))),
            field("last error", l.last_error.clone()),
        ])
        .wrap(Wrap { trim: false })
        .block(block(Span::styled(" Dead letter ", theme::header()), false))
        .render(inspect, buf);
    }
    let line = match &d.replay {
        Replay::None => Line::styled(
            " r replays the selected letter (one more delivery try)",
            theme::dim(),
        ),
        Replay::Running { id } => Line::styled(format!(" replaying {}…", short(id)), theme::warn()),
        Replay::Done(o) if o.delivered => Line::styled(
            format!(" last replay: {} delivered", short(&o.id)),
            theme::ok(),
        ),
        Replay::Done(o) => Line::styled(
            format!(
                " last replay: {} not delivered: {}",
                short(&o.id),
                o.error.as_deref().unwrap_or("no reason given")
            ),
            theme::bad(),
        ),
        Replay::Failed { id, error } => Line::styled(
            format!(" replay of {} failed: {error}", short(id)),
            theme::bad(),
        ),
    };
    line.render(outcome, buf);
}
