//! The series selectors of a PromQL expression (metric name and label matchers), and their check
//! against the metric catalogue (`tessera_engine::telemetry::CATALOGUE`). Promtool checks the
//! syntax; this checks the names: a metric Tessera does not export, or a label it does not carry,
//! would be a query that silently matches nothing.

use tessera_engine::telemetry::{CATALOGUE, Kind};

/// `name{label op "value", ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    pub op: String,
    pub value: String,
}

impl Selector {
    pub fn matcher(&self, label: &str) -> Option<&Matcher> {
        self.matchers.iter().find(|m| m.label == label)
    }
}

/// Words that are never metric names: aggregations (which may be followed by `by (...)` rather
/// than their argument), set operators and other keywords.
const KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "atan2",
];
/// Keywords whose parenthesised list holds label names, not expressions.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Every selector in `expr`, in order.
pub fn selectors(expr: &str) -> Result<Vec<Selector>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            i = string(&chars, i)?.1;
        } else if c == '[' {
            i = closing(&chars, i, '[', ']')?;
        } else if c == '{' {
            return Err(format!("a selector without a metric name at {i}: {expr}"));
        } else if c.is_ascii_digit() || c == '.' {
            // Numbers and durations: 0.99, 1e3, 15m.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = skip_space(&chars, i);
            if LABEL_LISTS.contains(&word.as_str()) {
                if chars.get(next) == Some(&'(') {
                    i = closing(&chars, next, '(', ')')?;
                }
            } else if KEYWORDS.contains(&word.as_str()) || chars.get(next) == Some(&'(') {
                // An aggregation, a keyword or a function call: its arguments are scanned on.
            } else if chars.get(next) == Some(&'{') {
                let (matchers, end) = matchers(&chars, next)?;
                out.push(Selector {
                    metric: word,
                    matchers,
                });
                i = end;
            } else {
                out.push(Selector {
                    metric: word,
                    matchers: Vec::new(),
                });
            }
        } else {
            i += 1;
        }
    }
    Ok(out)
}

fn skip_space(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

/// The index after the bracket closing the one at `open` (no nesting of the same bracket inside
/// strings matters here: selectors' strings are read by [`matchers`]).
fn closing(chars: &[char], open: usize, left: char, right: char) -> Result<usize, String> {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' => {
                i = string(chars, i)?.1;
                continue;
            }
            c if c == left => depth += 1,
            c if c == right => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(format!("unclosed `{left}`"))
}

/// The string literal starting at `start` (its quote), unescaped, and the index after it.
fn string(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let quote = chars[start];
    let mut value = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                value.push(chars[i + 1]);
                i += 2;
            }
            c if c == quote => return Ok((value, i + 1)),
            c => {
                value.push(c);
                i += 1;
            }
        }
    }
    Err("unclosed string".into())
}

/// `{label op "value", ...}` starting at `open`; the matchers and the index after `}`.
fn matchers(chars: &[char], open: usize) -> Result<(Vec<Matcher>, usize), String> {
    let mut out = Vec::new();
    let mut i = open + 1;
    loop {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        match chars.get(i) {
            None => return Err("unclosed `{`".into()),
            Some('}') => return Ok((out, i + 1)),
            Some(_) => {}
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let label: String = chars[start..i].iter().collect();
        i = skip_space(chars, i);
        let op: String = chars[i..]
            .iter()
            .take_while(|c| "=!~".contains(**c))
            .collect();
        if !["=", "!=", "=~", "!~"].contains(&op.as_str()) || label.is_empty() {
            return Err(format!("bad matcher `{label}{op}` at {start}"));
        }
        i = skip_space(chars, i + op.len());
        if !matches!(chars.get(i), Some('"' | '\'')) {
            return Err(format!("matcher `{label}` has no quoted value"));
        }
        let (value, end) = string(chars, i)?;
        out.push(Matcher { label, op, value });
        i = end;
    }
}

/// The labels a selector may match on: the catalogue's, plus the target labels Prometheus adds,
/// plus `le` on a histogram's buckets. `None` for a name Tessera does not export.
pub fn allowed_labels(metric: &str) -> Option<Vec<&'static str>> {
    let mut labels = vec!["job", "instance"];
    if metric == "up" {
        return Some(labels); // Prometheus's own, per target.
    }
    if let Some(m) = CATALOGUE.iter().find(|m| m.name == metric) {
        labels.extend(m.labels);
        return Some(labels);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        let Some(base) = metric.strip_suffix(suffix) else {
            continue;
        };
        let m = CATALOGUE
            .iter()
            .find(|m| m.name == base && m.kind == Kind::Histogram)?;
        labels.extend(m.labels);
        if suffix == "_bucket" {
            labels.push("le");
        }
        return Some(labels);
    }
    None
}

/// Every problem with `expr`'s names: unknown metrics, labels the metric does not carry, and an
/// expression that selects nothing at all.
pub fn problems(expr: &str) -> Vec<String> {
    let selectors = match selectors(expr) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    if selectors.is_empty() {
        return vec![format!("selects no metric: {expr}")];
    }
    let mut out = Vec::new();
    for s in &selectors {
        match allowed_labels(&s.metric) {
            None => out.push(format!("`{}` is not in the catalogue", s.metric)),
            Some(allowed) => {
                for m in &s.matchers {
                    if !allowed.contains(&m.label.as_str()) {
                        out.push(format!("`{}` has no label `{}`", s.metric, m.label));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn selectors_are_found_past_functions_aggregations_and_label_lists() {
    let expr = r#"histogram_quantile(0.99, sum by (job, le) (rate(tessera_http_request_duration_seconds_bucket{surface="portal", route=~"/a/{id}"}[5m])))
        / on (job) group_left max(tessera_dead_letters offset 15m) > bool 1 unless up"#;
    let found = selectors(expr).unwrap();
    let names: Vec<&str> = found.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(
        names,
        [
            "tessera_http_request_duration_seconds_bucket",
            "tessera_dead_letters",
            "up"
        ]
    );
    assert_eq!(
        found[0].matcher("route"),
        Some(&Matcher {
            label: "route".into(),
            op: "=~".into(),
            value: "/a/{id}".into()
        })
    );
}

#[test]
fn unknown_metrics_and_labels_are_problems() {
    assert!(problems(r#"rate(tessera_http_requests_total{surface="portal"}[5m])"#).is_empty());
    assert!(problems(r#"tessera_sms_send_duration_seconds_count{gateway="a"}"#).is_empty());
    assert_eq!(
        problems(r#"rate(tessera_http_request_total[5m])"#),
        ["`tessera_http_request_total` is not in the catalogue"]
    );
    assert_eq!(
        problems(r#"tessera_transactions_finished_total{status="failed"}"#),
        ["`tessera_transactions_finished_total` has no label `status`"]
    );
    // `le` is a bucket's label only; counters have no `_bucket`.
    assert_eq!(
        problems(r#"tessera_transaction_duration_seconds_sum{le="1"}"#),
        ["`tessera_transaction_duration_seconds_sum` has no label `le`"]
    );
    assert_eq!(
        problems("tessera_callbacks_total_bucket"),
        ["`tessera_callbacks_total_bucket` is not in the catalogue"]
    );
    assert_eq!(problems("vector(1)"), ["selects no metric: vector(1)"]);
}
