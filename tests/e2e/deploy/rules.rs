//! Reading the alert rules and their unit tests line by line, in the shape those files are written
//! in (one `- alert:` per rule, `expr:` inline or as a `|` block). Promtool parses them for
//! real; the count of rules read here is checked against promtool's, so nothing is missed.

/// One alerting rule: its name, its expression and the lines of its body.
#[derive(Debug)]
pub struct AlertRule {
    pub name: String,
    pub expr: String,
    pub lines: Vec<String>,
}

impl AlertRule {
    /// The value of `key:` in the rule's body (first occurrence, unquoted), e.g. `for`.
    pub fn value(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}:");
        self.lines.iter().find_map(|l| {
            let rest = l.trim().strip_prefix(&prefix)?.trim();
            Some(rest.trim_matches('"').to_owned())
        })
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Every `- alert:` rule of a rules file, and how many `- record:` rules it has.
pub fn alert_rules(text: &str) -> (Vec<AlertRule>, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let mut rules: Vec<AlertRule> = Vec::new();
    let mut records = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        if trimmed.starts_with("- record:") {
            records += 1;
        }
        let Some(name) = trimmed.strip_prefix("- alert:") else {
            i += 1;
            continue;
        };
        // The rule's keys sit two columns right of its dash; its body ends at a line left of them.
        let keys = indent(line) + 2;
        let mut rule = AlertRule {
            name: name.trim().to_owned(),
            expr: String::new(),
            lines: Vec::new(),
        };
        i += 1;
        while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) >= keys) {
            let body = lines[i];
            rule.lines.push(body.to_owned());
            if indent(body) == keys
                && let Some(value) = body.trim().strip_prefix("expr:")
            {
                let value = value.trim();
                if value.starts_with('|') || value.starts_with('>') {
                    let mut block = Vec::new();
                    while i + 1 < lines.len()
                        && (lines[i + 1].trim().is_empty() || indent(lines[i + 1]) > keys)
                    {
                        i += 1;
                        block.push(lines[i].trim());
                        rule.lines.push(lines[i].to_owned());
                    }
                    rule.expr = block.join("\n").trim().to_owned();
                } else {
                    rule.expr = value.to_owned();
                }
            }
            i += 1;
        }
        rules.push(rule);
    }
    (rules, records)
}

/// One `alert_rule_test` case of a promtool unit-test file: which alert, and whether it expects
/// alerts (`exp_alerts:` with items) or silence (`exp_alerts: []`).
#[derive(Debug, PartialEq, Eq)]
pub struct Case {
    pub alert: String,
    pub fires: bool,
}

pub fn cases(text: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let mut alert: Option<String> = None;
    let mut lines = text.lines().map(str::trim).peekable();
    while let Some(line) = lines.next() {
        if let Some(name) = line.strip_prefix("alertname:") {
            alert = Some(name.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("exp_alerts:") {
            let Some(name) = alert.take() else {
                continue;
            };
            let fires = match rest.trim() {
                "[]" => false,
                "" => lines.peek().is_some_and(|l| l.starts_with("- exp_labels:")),
                other => panic!("unexpected `exp_alerts: {other}`"),
            };
            out.push(Case { alert: name, fires });
        }
    }
    out
}

#[test]
fn rules_are_read_with_inline_and_block_expressions() {
    let text = "groups:
  - name: g
    rules:
      - record: job:x:rate5m
        expr: rate(x[5m])
      - alert: A
        expr: up == 0
        for: 2m
        labels:
          severity: critical
      - alert: B
        expr: |
          sum(a)
            /
          sum(b)
        for: 5m
        annotations:
          summary: \"B is {{ $value }}\"
";
    let (rules, records) = alert_rules(text);
    assert_eq!(records, 1);
    let summary: Vec<(&str, &str)> = rules
        .iter()
        .map(|r| (r.name.as_str(), r.expr.as_str()))
        .collect();
    assert_eq!(summary, [("A", "up == 0"), ("B", "sum(a)\n/\nsum(b)")]);
    assert_eq!(rules[0].value("severity").as_deref(), Some("critical"));
    assert_eq!(rules[1].value("for").as_deref(), Some("5m"));
    assert_eq!(
        rules[1].value("summary").as_deref(),
        Some("B is {{ $value }}")
    );
}

#[test]
fn unit_test_cases_are_read_as_firing_or_silent() {
    let text = "
    alert_rule_test:
      - eval_time: 3m
        alertname: A
        exp_alerts: []
      - eval_time: 5m
        alertname: A
        exp_alerts:
          - exp_labels:
              severity: critical
";
    assert_eq!(
        cases(text),
        [
            Case {
                alert: "A".into(),
                fires: false
            },
            Case {
                alert: "A".into(),
                fires: true
            }
        ]
    );
}
