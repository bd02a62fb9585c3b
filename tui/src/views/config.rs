//! Config: collections, their items, the selected item's fields. The editor opens in place of
//! a field's value; a rejected save's messages stand next to the fields they name.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, StatefulWidget, Widget, Wrap};
use serde_json::Value;

use super::format::fit;
use super::{block, load_line};
use crate::app::{App, EditPhase, Editor, Focus, Mode, edit_text};
use crate::resources::Collection;
use crate::theme;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let c = &app.config;
    let narrow = area.width < 100;
    let [kinds, items, fields] = Layout::horizontal([
        Constraint::Length(if narrow { 15 } else { 18 }),
        Constraint::Length(if narrow { 18 } else { 28 }),
        Constraint::Min(20),
    ])
    .areas(area);
    let kind_items = Collection::BROWSED.iter().map(|k| ListItem::new(k.title()));
    let mut state = ListState::default().with_selected(Some(c.collection));
    StatefulWidget::render(
        List::new(kind_items)
            .highlight_style(theme::selected())
            .highlight_symbol("› ")
            .block(block(" Resources ", c.focus == Focus::Collections)),
        kinds,
        buf,
        &mut state,
    );
    let current = c.current();
    let rows = c.visible();
    let mut title = format!(" {} ({}) ", current.title(), rows.len());
    if !c.filter.is_empty() {
        title.push_str(&format!("/{} ", c.filter));
    }
    let b = block(title, c.focus == Focus::Items);
    match load_line(&c.load).filter(|_| rows.is_empty()) {
        Some(line) => Paragraph::new(line)
            .wrap(Wrap { trim: true })
            .block(b)
            .render(items, buf),
        None => {
            let names = rows
                .iter()
                .map(|v| ListItem::new(current.name_of(v).unwrap_or("?").to_owned()));
            let mut state =
                ListState::default().with_selected((!rows.is_empty()).then_some(c.item));
            StatefulWidget::render(
                List::new(names)
                    .highlight_style(theme::selected())
                    .highlight_symbol("› ")
                    .block(b),
                items,
                buf,
                &mut state,
            );
        }
    }
    field_list(app, fields, buf);
}

fn field_list(app: &App, area: Rect, buf: &mut Buffer) {
    let c = &app.config;
    let name = c.selected_name().unwrap_or_default();
    let b = block(format!(" {name} "), c.focus == Focus::Fields);
    let inner = b.inner(area);
    b.render(area, buf);
    let fields = c.fields();
    let key_width = fields
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .min(30);
    let editor = match &app.mode {
        Mode::Edit(ed) => Some(ed),
        _ => None,
    };
    let width = usize::from(inner.width);
    let mut lines = Vec::new();
    let mut selected_line = 0;
    for (i, (key, value)) in fields.iter().enumerate() {
        let selected = c.focus == Focus::Fields && i == c.field;
        if selected {
            selected_line = lines.len();
        }
        let key_span = Span::styled(
            format!("{:<key_width$} ", fit(key, key_width)),
            if selected {
                theme::selected()
            } else {
                theme::dim()
            },
        );
        let error = c.error_for(key);
        match editor.filter(|ed| selected && ed.field == *key) {
            Some(ed) => lines.extend(editor_lines(ed, key_span, error)),
            None => {
                let room = width.saturating_sub(key_width + 1);
                let mut spans = vec![key_span, Span::raw(fit(&edit_text(value), room))];
                if let Value::String(s) = value
                    && s == tessera_config::admin::MASKED
                {
                    spans[1] = Span::styled(s.clone(), theme::dim());
                }
                lines.push(Line::from(spans));
                if let Some(e) = error {
                    lines.push(Line::styled(
                        format!("{:key_width$} ⚠ {e}", ""),
                        theme::bad(),
                    ));
                }
            }
        }
    }
    for (path, message) in c.unplaced_errors() {
        lines.push(Line::styled(format!("⚠ {path}: {message}"), theme::bad()));
    }
    if fields.is_empty() {
        lines.push(Line::styled("nothing selected", theme::dim()));
    }
    // Keep the selected field (and its editor) on screen in a short window.
    let height = usize::from(inner.height);
    let skip = (selected_line + 3).saturating_sub(height);
    Paragraph::new(lines)
        .scroll((u16::try_from(skip).unwrap_or(0), 0))
        .render(inner, buf);
}

fn editor_lines(ed: &Editor, key: Span<'static>, error: Option<&str>) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        key,
        Span::styled(ed.input.text().to_owned(), theme::key()),
        Span::styled("▏", theme::key()),
    ])];
    match &ed.phase {
        EditPhase::Typing => {}
        EditPhase::Saving => lines.push(Line::styled("  saving…", theme::dim())),
        EditPhase::Refused(why) => lines.push(Line::styled(format!("  ✗ {why}"), theme::bad())),
    }
    if let Some(e) = error {
        lines.push(Line::styled(format!("  ⚠ {e}"), theme::bad()));
    }
    lines.push(Line::styled(
        "  Enter save · Esc cancel · ^U clear",
        theme::dim(),
    ));
    lines
}
