//! The views: `impl Widget for &App` draws the frame (title with the connection state, tabs,
//! the current panel, the status line) and the overlays. One file per panel; each draws from
//! the model only, never waiting on I/O.

mod config;
mod dead_letters;
mod events;
pub mod format;
mod help;
mod overview;
mod transactions;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::app::{App, Confirm, Level, Link, Load, Mode, Tab};
use crate::theme;
use crate::update::short;
use format::ago;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let [title, tabs, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(area);
        title_bar(self, title, buf);
        tab_bar(self, tabs, buf);
        match self.tab {
            Tab::Overview => overview::render(self, body, buf),
            Tab::Transactions => transactions::render(self, body, buf),
            Tab::Events => events::render(self, body, buf),
            Tab::Config => config::render(self, body, buf),
            Tab::DeadLetters => dead_letters::render(self, body, buf),
        }
        status_line(self, status, buf);
        match &self.mode {
            Mode::Help => help::render(area, buf),
            Mode::Confirm(Confirm::Cancel { transaction_id }) => {
                confirm(
                    &format!("Cancel transaction {}?", short(transaction_id)),
                    body,
                    buf,
                );
            }
            _ => {}
        }
    }
}

fn title_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let mut spans = vec![
        Span::styled(" tessera ", theme::title()),
        Span::styled(format!("{} ", app.url), theme::dim()),
    ];
    if let Some(s) = &app.stats {
        spans.push(Span::raw(format!("node {} ", s.node)));
    }
    spans.extend(connection(app));
    Line::from(spans).render(area, buf);
}

/// The connection state: connected, connecting, or reconnecting with the retry and the error.
fn connection(app: &App) -> Vec<Span<'static>> {
    if app.connected() {
        return vec![Span::styled("● connected", theme::ok())];
    }
    // The worse of the two links is the one worth reading.
    let down = [&app.stats_link, &app.stream_link]
        .into_iter()
        .find(|l| matches!(l, Link::Down { .. }));
    match down {
        Some(Link::Down {
            attempt,
            retry_at,
            error,
        }) => vec![
            Span::styled(
                format!(
                    "◌ reconnecting {} (attempt {attempt}) ",
                    ago(app.now, *retry_at)
                ),
                theme::bad(),
            ),
            Span::styled(error.clone(), theme::warn()),
        ],
        _ => vec![Span::styled("◌ connecting…", theme::warn())],
    }
}

fn tab_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let mut spans = Vec::new();
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let style = if *tab == app.tab {
            theme::tab_active()
        } else {
            theme::tab()
        };
        spans.push(Span::styled(format!(" {} {} ", i + 1, tab.title()), style));
        spans.push(Span::raw(" "));
    }
    Line::from(spans).render(area, buf);
}

fn status_line(app: &App, area: Rect, buf: &mut Buffer) {
    let line = match &app.mode {
        Mode::Filter(input) => Line::from(vec![
            Span::styled("/", theme::key()),
            Span::raw(input.text().to_owned()),
            Span::styled("▏", theme::key()),
            Span::styled("  Enter apply · Esc cancel", theme::dim()),
        ]),
        _ => match app.current_flash() {
            Some(f) => {
                let style = if f.level == Level::Error {
                    theme::bad()
                } else {
                    theme::ok()
                };
                Line::from(Span::styled(f.text.clone(), style))
            }
            None => hints(app),
        },
    };
    line.render(area, buf);
}

fn hints(app: &App) -> Line<'static> {
    let keys: &[(&str, &str)] = match (&app.mode, app.tab) {
        (Mode::Edit(_), _) => &[("Enter", "save"), ("Esc", "cancel"), ("^U", "clear")],
        (_, Tab::Overview) => &[],
        (_, Tab::Transactions) => &[
            ("j/k", "move"),
            ("Enter", "detail"),
            ("c", "cancel"),
            ("/", "filter"),
        ],
        (_, Tab::Events) => &[("j/k", "scroll"), ("p", "pause"), ("/", "filter")],
        (_, Tab::Config) => &[
            ("h/l", "column"),
            ("j/k", "move"),
            ("e", "edit"),
            ("/", "filter"),
        ],
        (_, Tab::DeadLetters) => &[
            ("j/k", "move"),
            ("Enter", "inspect"),
            ("r", "replay"),
            ("/", "filter"),
        ],
    };
    let mut spans = Vec::new();
    for (k, what) in keys
        .iter()
        .chain(&[("1-5", "tabs"), ("?", "help"), ("q", "quit")])
    {
        spans.push(Span::styled(format!(" {k}"), theme::key()));
        spans.push(Span::styled(format!(" {what} "), theme::dim()));
    }
    Line::from(spans)
}

/// A bordered block with a title; `focused` brightens the border.
pub fn block(title: impl Into<Line<'static>>, focused: bool) -> Block<'static> {
    Block::bordered().title(title).border_style(if focused {
        theme::border_focused()
    } else {
        theme::border()
    })
}

/// A list's load state as a line, when it is not simply ready.
pub fn load_line(load: &Load) -> Option<Line<'static>> {
    match load {
        Load::Ready => None,
        Load::Loading => Some(Line::styled("loading…", theme::dim())),
        Load::Failed(e) => Some(Line::styled(format!("could not load: {e}"), theme::bad())),
    }
}

/// A centered rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn confirm(question: &str, area: Rect, buf: &mut Buffer) {
    let r = centered(area, 44, 5);
    Clear.render(r, buf);
    Paragraph::new(vec![
        Line::raw(question.to_owned()),
        Line::from(vec![
            Span::styled("y", theme::key()),
            Span::raw(" yes   "),
            Span::styled("n", theme::key()),
            Span::raw(" / Esc no"),
        ]),
    ])
    .wrap(Wrap { trim: true })
    .block(block(Span::styled(" Confirm ", theme::header()), true))
    .render(r, buf);
}

#[cfg(test)]
mod tests;
