//! Overview: throughput sparklines per type, active transactions by state, outcome ratios,
//! latency quantiles, SMS/push/callback health, dead letters and the nodes. Counters are
//! summed over the nodes; p50 is the sample-weighted mean of the nodes' p50s and p99 their
//! maximum (an upper bound), as quantiles do not add up.

use std::collections::BTreeMap;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget, Wrap};
use tessera_config::admin::{CallbackStats, NodeStats, OutboundHealth, Quantiles, Stats};

use super::block;
use super::format::{ago, count, fit, latency, span};
use crate::app::App;
use crate::theme;

/// Seconds averaged for the "now" rate next to a sparkline.
const RATE_WINDOW: usize = 5;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(stats) = &app.stats else {
        let text = match &app.stats_link {
            crate::app::Link::Down { error, .. } => format!("no statistics yet: {error}"),
            _ => "waiting for the first /stats answer…".to_owned(),
        };
        Paragraph::new(Line::styled(text, theme::dim()))
            .block(block(" Overview ", false))
            .render(area, buf);
        return;
    };
    let health_rows = stats
        .nodes
        .first()
        .map_or(0, |n| n.sms_gateways.len() + n.push_providers.len() + 1)
        as u16;
    let [summary, middle, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length((health_rows.max(stats.nodes.len() as u16) + 2).min(10)),
    ])
    .areas(area);
    summary_line(app, stats, summary, buf);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(middle);
    throughput(stats, left, buf);
    states(stats, right, buf);
    let [health_area, nodes_area] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(bottom);
    health(stats, health_area, buf);
    nodes(app, stats, nodes_area, buf);
}

fn summary_line(app: &App, stats: &Stats, area: Rect, buf: &mut Buffer) {
    let active: u64 = stats
        .nodes
        .iter()
        .flat_map(|n| n.active_by_state.values())
        .sum();
    let started: u64 = stats
        .nodes
        .iter()
        .flat_map(|n| &n.types)
        .map(|t| t.started)
        .sum();
    let store = if stats.store.healthy {
        Span::styled(format!("{} ✓", stats.store.kind), theme::ok())
    } else {
        Span::styled(format!("{} ✗ unreachable", stats.store.kind), theme::bad())
    };
    let dead = if stats.dead_letters > 0 {
        theme::bad()
    } else {
        theme::ok()
    };
    Line::from(vec![
        Span::styled(" store ", theme::dim()),
        store,
        Span::styled("  nodes ", theme::dim()),
        Span::raw(stats.nodes.len().to_string()),
        Span::styled("  active ", theme::dim()),
        Span::raw(count(active)),
        Span::styled("  started ", theme::dim()),
        Span::raw(count(started)),
        Span::styled("  dead letters ", theme::dim()),
        Span::styled(stats.dead_letters.to_string(), dead),
        Span::styled(
            format!("  read {} ago", span(app.now.saturating_sub(stats.at))),
            theme::dim(),
        ),
    ])
    .render(area, buf);
}

/// Per type over all nodes: method, started, active and starts per second (60 s).
struct TypeRow {
    method: String,
    started: u64,
    active: u64,
    per_second: Vec<u64>,
}

fn type_rows(stats: &Stats) -> BTreeMap<&str, TypeRow> {
    let mut rows: BTreeMap<&str, TypeRow> = BTreeMap::new();
    for t in stats.nodes.iter().flat_map(|n| &n.types) {
        let row = rows.entry(&t.name).or_insert_with(|| TypeRow {
            method: t.method.clone(),
            started: 0,
            active: 0,
            per_second: Vec::new(),
        });
        row.started += t.started;
        row.active += t.active;
        if row.per_second.len() < t.starts_per_second.len() {
            row.per_second.resize(t.starts_per_second.len(), 0);
        }
        for (sum, v) in row.per_second.iter_mut().zip(&t.starts_per_second) {
            *sum += u64::from(*v);
        }
    }
    rows
}

fn throughput(stats: &Stats, area: Rect, buf: &mut Buffer) {
    let b = block(
        Span::styled(" Starts/s per type (60s) ", theme::header()),
        false,
    );
    let inner = b.inner(area);
    b.render(area, buf);
    let rows = type_rows(stats);
    if rows.is_empty() {
        Line::styled("no mobile auth types", theme::dim()).render(inner, buf);
        return;
    }
    let wide = inner.width >= 70;
    // Taller sparklines when there is room (up to 4 rows each).
    let row_height = (inner.height / rows.len().max(1) as u16).clamp(1, 4);
    for (i, (name, row)) in rows.iter().enumerate() {
        let Some(y) = inner
            .y
            .checked_add(i as u16 * row_height)
            .filter(|y| *y < inner.bottom())
        else {
            break;
        };
        let recent = &row.per_second[row.per_second.len().saturating_sub(RATE_WINDOW)..];
        let rate = recent.iter().sum::<u64>() as f64 / recent.len().max(1) as f64;
        let label = if wide {
            format!("{:<14}{:<15}", fit(name, 13), fit(&row.method, 14))
        } else {
            format!("{:<10}", fit(name, 9))
        };
        let tail = format!(
            " {rate:>6.1}/s {:>6} act {:>4}",
            count(row.started),
            count(row.active)
        );
        let line_area = Rect {
            y,
            height: row_height.min(inner.bottom() - y),
            ..inner
        };
        let [l, spark, t] = Layout::horizontal([
            Constraint::Length(label.chars().count() as u16),
            Constraint::Min(4),
            Constraint::Length(tail.chars().count() as u16),
        ])
        .areas(line_area);
        Line::raw(label).render(l, buf);
        let t = Rect { height: 1, ..t };
        let data = &row.per_second[row.per_second.len().saturating_sub(spark.width as usize)..];
        Sparkline::default()
            .data(data)
            .style(theme::ok())
            .render(spark, buf);
        Line::styled(tail, theme::dim()).render(t, buf);
    }
}

fn sum_maps<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, u64>>) -> BTreeMap<&'a str, u64> {
    let mut out = BTreeMap::new();
    for m in maps {
        for (k, v) in m {
            *out.entry(k.as_str()).or_insert(0) += v;
        }
    }
    out
}

fn merged_quantiles<'a>(qs: impl Iterator<Item = &'a Quantiles>) -> (u64, f64, f64) {
    let (mut n, mut weighted, mut p99) = (0u64, 0.0, 0.0f64);
    for q in qs {
        n += q.count;
        weighted += q.p50_ms * q.count as f64;
        p99 = p99.max(q.p99_ms);
    }
    let p50 = if n == 0 { 0.0 } else { weighted / n as f64 };
    (n, p50, p99)
}

fn states(stats: &Stats, area: Rect, buf: &mut Buffer) {
    let mut lines = Vec::new();
    let active = sum_maps(stats.nodes.iter().map(|n| &n.active_by_state));
    let mut spans = vec![Span::styled("Active   ", theme::header())];
    if active.values().all(|v| *v == 0) {
        spans.push(Span::styled("none", theme::dim()));
    }
    for (state, n) in active.iter().filter(|(_, n)| **n > 0) {
        spans.push(Span::raw(format!("{state} {} ", count(*n))));
    }
    lines.push(Line::from(spans));
    let outcomes = sum_maps(stats.nodes.iter().map(|n| &n.outcomes));
    let total: u64 = outcomes.values().sum();
    let mut spans = vec![Span::styled("Outcomes ", theme::header())];
    if total == 0 {
        spans.push(Span::styled("none yet", theme::dim()));
    }
    for (status, n) in outcomes.iter().filter(|(_, n)| **n > 0) {
        let pct = *n as f64 * 100.0 / total as f64;
        spans.push(Span::styled(
            format!("{status} {pct:.0}% "),
            theme::status(status),
        ));
    }
    if total > 0 {
        spans.push(Span::styled(format!("(n={})", count(total)), theme::dim()));
    }
    lines.push(Line::from(spans));
    for (label, pick) in [
        (
            "Start    ",
            (|n: &NodeStats| &n.start_latency) as fn(&NodeStats) -> &Quantiles,
        ),
        ("Flow     ", |n: &NodeStats| &n.flow_latency),
    ] {
        let (n, p50, p99) = merged_quantiles(stats.nodes.iter().map(pick));
        lines.push(Line::from(vec![
            Span::styled(label, theme::header()),
            Span::raw(format!("p50 {}  p99 {}", latency(p50), latency(p99))),
            Span::styled(format!("  (n={})", count(n)), theme::dim()),
        ]));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(block(Span::styled(" State ", theme::header()), false))
        .render(area, buf);
}

fn merged_health<'a>(list: impl Iterator<Item = &'a OutboundHealth>) -> Vec<OutboundHealth> {
    let mut by_name: BTreeMap<&str, OutboundHealth> = BTreeMap::new();
    for h in list {
        let e = by_name.entry(&h.name).or_insert_with(|| OutboundHealth {
            name: h.name.clone(),
            kind: h.kind.clone(),
            healthy: true,
            ..OutboundHealth::default()
        });
        e.sent += h.sent;
        e.failed += h.failed;
        if !h.healthy {
            e.healthy = false;
            e.last_error.clone_from(&h.last_error);
        }
    }
    by_name.into_values().collect()
}

fn health(stats: &Stats, area: Rect, buf: &mut Buffer) {
    let b = block(Span::styled(" Health ", theme::header()), false);
    let width = b.inner(area).width as usize;
    let mut lines = Vec::new();
    let sms = merged_health(stats.nodes.iter().flat_map(|n| &n.sms_gateways));
    let push = merged_health(stats.nodes.iter().flat_map(|n| &n.push_providers));
    for (what, h) in sms
        .iter()
        .map(|h| ("sms ", h))
        .chain(push.iter().map(|h| ("push", h)))
    {
        let (mark, style) = if h.healthy {
            ("✓", theme::ok())
        } else {
            ("✗", theme::bad())
        };
        let kind = if width >= 70 {
            format!("{:<9}", fit(&h.kind, 8))
        } else {
            String::new()
        };
        let head = format!(
            " {what} {:<12} {kind}{:>6} sent {:>5} failed ",
            fit(&h.name, 12),
            count(h.sent),
            count(h.failed)
        );
        let room = width.saturating_sub(head.chars().count() + 1);
        lines.push(Line::from(vec![
            Span::styled(mark, style),
            Span::raw(head),
            Span::styled(
                fit(h.last_error.as_deref().unwrap_or(""), room),
                theme::warn(),
            ),
        ]));
    }
    let cb = stats
        .nodes
        .iter()
        .map(|n| &n.callbacks)
        .fold(CallbackStats::default(), |a, c| CallbackStats {
            sent: a.sent + c.sent,
            failed_tries: a.failed_tries + c.failed_tries,
            dead_lettered: a.dead_lettered + c.dead_lettered,
            in_flight: a.in_flight + c.in_flight,
        });
    lines.push(Line::from(vec![
        Span::raw(format!(
            "callbacks {} sent {} retried {} open ",
            count(cb.sent),
            count(cb.failed_tries),
            count(cb.in_flight),
        )),
        Span::styled(
            format!("{} dead", count(cb.dead_lettered)),
            if cb.dead_lettered > 0 {
                theme::bad()
            } else {
                theme::ok()
            },
        ),
    ]));
    Paragraph::new(lines).block(b).render(area, buf);
}

fn nodes(app: &App, stats: &Stats, area: Rect, buf: &mut Buffer) {
    let b = block(Span::styled(" Nodes ", theme::header()), false);
    let lines: Vec<Line<'_>> = stats
        .nodes
        .iter()
        .map(|n| {
            let active: u64 = n.active_by_state.values().sum();
            let (_, p50, p99) = merged_quantiles(std::iter::once(&n.start_latency));
            Line::from(vec![
                Span::styled(
                    format!("{:<12}", fit(&n.name, 11)),
                    if n.name == stats.node {
                        theme::key()
                    } else {
                        theme::tab()
                    },
                ),
                Span::raw(format!(
                    "up {:<4} active {:<5} ",
                    span(app.now.saturating_sub(n.started_at)),
                    count(active)
                )),
                Span::styled(
                    format!(
                        "p50 {} p99 {} seen {}",
                        latency(p50),
                        latency(p99),
                        ago(app.now, n.at)
                    ),
                    theme::dim(),
                ),
            ])
        })
        .collect();
    Paragraph::new(lines).block(b).render(area, buf);
}
