//! The PromQL expressions of the deployment files: every `expr` of a Grafana dashboard's panels
//! (rows' nested panels and `targets[]` included) and every `expr` of a Prometheus rule file,
//! with the dashboard's template variables replaced by what a test can query.
//!
//! Rule files are YAML, and the suite has no YAML parser: [`rule_file`] reads the subset rule
//! files are written in — `groups:` items with a `name`, rules with `alert:` or `record:` and an
//! `expr` that is a plain, quoted or block (`|`, `>`) scalar. The tests cross-check what it finds
//! against what Prometheus itself loaded from the same files (group names, rule count), so a
//! file this reader misreads fails loudly rather than passing with fewer expressions.

use serde_json::Value;

/// One query of a dashboard panel.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelExpr {
    /// The title of the panel it belongs to.
    pub panel: String,
    pub expr: String,
}

/// What a test puts for the dashboard's template variables: `$__rate_interval` a window of a
/// few scrapes, `$instance` (used as `instance=~"$instance"`) every instance.
const VARIABLES: &[(&str, &str)] = &[
    ("${__rate_interval}", "30s"),
    ("$__rate_interval", "30s"),
    ("${instance}", ".+"),
    ("$instance", ".+"),
];

/// `expr` with the dashboard's template variables replaced; `Err` names a `$` variable left over
/// (one the tests do not know how to fill in).
pub fn substitute(expr: &str) -> Result<String, String> {
    let filled = VARIABLES
        .iter()
        .fold(expr.to_owned(), |e, (var, value)| e.replace(var, value));
    match filled.find('$') {
        Some(at) => Err(format!(
            "unknown template variable `{}`",
            filled[at..]
                .split(|c: char| !(c == '$' || c == '_' || c.is_alphanumeric()))
                .next()
                .unwrap_or("$")
        )),
        None => Ok(filled),
    }
}

/// Every `expr` under the dashboard's `panels` (and the old schema's `rows`), nested panels
/// included, in document order, each with the title of the panel it belongs to.
pub fn dashboard(dashboard: &Value) -> Vec<PanelExpr> {
    let mut found = Vec::new();
    for key in ["panels", "rows"] {
        if let Some(v) = dashboard.get(key) {
            walk(v, "(untitled)", &mut found);
        }
    }
    found
}

fn walk(v: &Value, title: &str, found: &mut Vec<PanelExpr>) {
    match v {
        Value::Array(items) => items.iter().for_each(|item| walk(item, title, found)),
        Value::Object(fields) => {
            let title = fields.get("title").and_then(Value::as_str).unwrap_or(title);
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("expr", Value::String(expr)) => found.push(PanelExpr {
                        panel: title.to_owned(),
                        expr: expr.clone(),
                    }),
                    _ => walk(value, title, found),
                }
            }
        }
        _ => {}
    }
}

/// What a rule file holds, as far as the tests need it.
#[derive(Debug, Default, PartialEq)]
pub struct RuleFile {
    /// The `name` of every group, in order.
    pub groups: Vec<String>,
    /// How many `alert:` and `record:` rules.
    pub rules: usize,
    /// Every rule's `expr`, in order.
    pub exprs: Vec<String>,
}

/// One line of the YAML: its indentation and its content after any `- ` sequence markers (each
/// counted as indentation, as YAML does for the mapping that follows).
struct Line<'a> {
    indent: usize,
    /// Whether the line opens a sequence item.
    item: bool,
    text: &'a str,
}

fn line(raw: &str) -> Line<'_> {
    let mut text = raw.trim_start();
    let mut indent = raw.len() - text.len();
    let mut item = false;
    while let Some(rest) = text
        .strip_prefix("- ")
        .or_else(|| (text == "-").then_some(""))
    {
        let rest_trimmed = rest.trim_start();
        indent += text.len() - rest_trimmed.len();
        text = rest_trimmed;
        item = true;
    }
    Line { indent, item, text }
}

/// `text` is `key: value...`: the value, trimmed.
fn value_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(key)?.strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then(|| rest.trim())
}

/// A plain scalar without its trailing ` # comment`.
fn uncomment(plain: &str) -> &str {
    plain.find(" #").map_or(plain, |at| &plain[..at]).trim_end()
}

/// A one-line scalar: unquoted, single- or double-quoted.
fn scalar(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        unescape(inner)
    } else if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else {
        uncomment(value).to_owned()
    }
}

/// The escapes of a YAML double-quoted scalar PromQL can contain.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Reads `yaml` (a Prometheus rule file; see the module doc for the subset).
pub fn rule_file(yaml: &str) -> RuleFile {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut file = RuleFile::default();
    // The indentation of the `groups:` items' keys, once seen.
    let mut group_indent = None;
    let mut in_groups = false;
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        i += 1;
        let l = line(raw);
        if l.text.is_empty() || l.text.starts_with('#') {
            continue;
        }
        if l.indent == 0 && !l.item {
            in_groups = value_of(l.text, "groups").is_some();
            continue;
        }
        if in_groups && l.item && group_indent.is_none() {
            group_indent = Some(l.indent);
        }
        if let Some(name) = value_of(l.text, "name").filter(|_| Some(l.indent) == group_indent) {
            file.groups.push(scalar(name));
        }
        if value_of(l.text, "alert").is_some() || value_of(l.text, "record").is_some() {
            file.rules += 1;
        }
        let Some(value) = value_of(l.text, "expr") else {
            continue;
        };
        // The lines after the key that belong to its value: blank, or indented deeper.
        let start = i;
        while i < lines.len() && {
            let next = lines[i];
            next.trim().is_empty() || next.len() - next.trim_start().len() > l.indent
        } {
            i += 1;
        }
        let more: Vec<&str> = lines[start..i].iter().map(|s| s.trim()).collect();
        file.exprs.push(expr_value(value, &more));
    }
    file
}

/// An `expr` value from its first line and the deeper-indented lines after it.
fn expr_value(first: &str, more: &[&str]) -> String {
    let kept = |lines: &[&str], sep: &str| -> String {
        let text: Vec<&str> = lines.iter().copied().filter(|l| !l.is_empty()).collect();
        text.join(sep)
    };
    if first.starts_with(['|', '>']) {
        // Block scalar; PromQL reads a newline as whitespace, so both styles keep the lines.
        return kept(more, "\n");
    }
    if first.starts_with(['"', '\'']) && !more.is_empty() {
        // A quoted scalar over several lines folds them with spaces.
        let joined = std::iter::once(first)
            .chain(more.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        return scalar(&joined);
    }
    let mut parts = vec![scalar(first)];
    parts.extend(
        more.iter()
            .filter(|l| !l.is_empty())
            .map(|l| uncomment(l).to_owned()),
    );
    parts.retain(|p| !p.is_empty());
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
# Tessera alerts.
groups:
  - name: tessera-availability
    interval: 30s
    rules:
      - alert: TesseraDown
        expr: up{job="tessera"} == 0  # the scrape fails
        for: 1m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} is down"
      - alert: TesseraErrors
        expr: |
          sum by (instance) (rate(tessera_http_requests_total{status=~"5.."}[5m]))

            / sum by (instance) (rate(tessera_http_requests_total[5m])) > 0.05
        for: 5m
  - name: "tessera-recording"
    rules:
      - record: tessera:starts:rate1m
        expr: "sum by (type) (rate(tessera_transactions_started_total{type=\"sms\"}[1m]))"
      - expr: >-
          histogram_quantile(0.99,
            sum by (le) (rate(tessera_http_request_duration_seconds_bucket[1m])))
        record: tessera:http_p99:1m
      - record: tessera:plain
        expr: sum(rate(tessera_transactions_finished_total[1m]))
          by (outcome)
"#;

    #[test]
    fn a_rule_file_gives_its_groups_rules_and_every_expression() {
        let file = rule_file(RULES);
        assert_eq!(file.groups, ["tessera-availability", "tessera-recording"]);
        assert_eq!(file.rules, 5);
        assert_eq!(
            file.exprs,
            [
                r#"up{job="tessera"} == 0"#,
                "sum by (instance) (rate(tessera_http_requests_total{status=~\"5..\"}[5m]))\n\
                 / sum by (instance) (rate(tessera_http_requests_total[5m])) > 0.05",
                r#"sum by (type) (rate(tessera_transactions_started_total{type="sms"}[1m]))"#,
                "histogram_quantile(0.99,\n\
                 sum by (le) (rate(tessera_http_request_duration_seconds_bucket[1m])))",
                "sum(rate(tessera_transactions_finished_total[1m])) by (outcome)",
            ]
        );
    }

    #[test]
    fn sequences_not_indented_under_their_key_are_read_too() {
        let yaml = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1m\n  - record: r\n    expr: |-\n      sum(up)\n";
        let file = rule_file(yaml);
        assert_eq!(file.groups, ["g"]);
        assert_eq!(file.rules, 2);
        assert_eq!(file.exprs, ["up == 0", "sum(up)"]);
    }

    #[test]
    fn a_dashboard_gives_every_panel_expression_rows_included() {
        let dash = serde_json::json!({
            "templating": {"list": [{"name": "instance", "query": "label_values(up, instance)"}]},
            "panels": [
                {"title": "Starts", "type": "timeseries",
                 "targets": [{"expr": "sum(rate(a[$__rate_interval]))"}, {"expr": "b"}]},
                {"title": "Outbound", "type": "row", "collapsed": true, "panels": [
                    {"title": "SMS", "targets": [{"expr": "c{instance=~\"$instance\"}"}]}
                ]},
                {"title": "Text", "type": "text"}
            ]
        });
        let found: Vec<(String, String)> = dashboard(&dash)
            .into_iter()
            .map(|p| (p.panel, p.expr))
            .collect();
        let want = [
            ("Starts", "sum(rate(a[$__rate_interval]))"),
            ("Starts", "b"),
            ("SMS", "c{instance=~\"$instance\"}"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(p, e)| (p.to_string(), e.to_string()))
            .collect();
        assert_eq!(found, want);
    }

    #[test]
    fn template_variables_are_filled_in_and_unknown_ones_refused() {
        assert_eq!(
            substitute("rate(x{instance=~\"$instance\"}[$__rate_interval])").as_deref(),
            Ok("rate(x{instance=~\".+\"}[30s])")
        );
        assert_eq!(
            substitute("rate(x{instance=~\"${instance}\"}[${__rate_interval}])").as_deref(),
            Ok("rate(x{instance=~\".+\"}[30s])")
        );
        assert_eq!(
            substitute("rate(x[$__interval])"),
            Err("unknown template variable `$__interval`".into())
        );
    }
}
