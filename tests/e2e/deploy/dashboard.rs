//! The Grafana dashboard (`deploy/grafana/dashboards/tessera.json`) and its provisioning: one
//! `instance` variable, every panel on the provisioned Prometheus data source, every query
//! filtered by `$instance`, valid PromQL (promtool) over catalogue names, and every catalogue
//! metric shown somewhere.

use std::collections::BTreeSet;

use serde_json::Value;
use tessera_engine::telemetry::CATALOGUE;

use super::{promql, promtool, read, rules_found, succeeds};
use crate::support::binary::TempDir;

const DASHBOARD: &str = "deploy/grafana/dashboards/tessera.json";
/// The only `$` variables a query may use: the dashboard's own and Grafana's rate window.
const VARIABLES: &[&str] = &["$instance", "$__rate_interval"];

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// (panel title, expr) of every query.
fn queries(dashboard: &Value) -> Vec<(String, String)> {
    panels(dashboard)
        .into_iter()
        .flat_map(|p| {
            let title = p["title"].as_str().unwrap_or("?").to_owned();
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |t| (title.clone(), t["expr"].as_str().unwrap_or("").to_owned()))
        })
        .collect()
}

#[test]
fn the_dashboard_has_its_uid_a_recent_schema_and_only_the_instance_variable() {
    let d = dashboard();
    assert_eq!(d["uid"], "tessera");
    let schema = d["schemaVersion"].as_u64().unwrap_or(0);
    assert!(schema >= 38, "schemaVersion {schema}");
    let variables = d["templating"]["list"].as_array().expect("templating.list");
    assert_eq!(variables.len(), 1, "{variables:?}");
    let v = &variables[0];
    assert_eq!(v["name"], "instance");
    assert_eq!(v["query"], "label_values(tessera_build_info, instance)");
    assert_eq!(v["datasource"]["uid"], "prometheus");
    assert_eq!(v["multi"], true, "several nodes at once");
    assert_eq!(v["includeAll"], true, "an All option");
}

#[test]
fn every_panel_queries_the_provisioned_prometheus_filtered_by_instance() {
    let d = dashboard();
    let mut problems = Vec::new();
    for panel in panels(&d) {
        let title = panel["title"].as_str().unwrap_or("?");
        if panel["datasource"]["uid"] != "prometheus" {
            problems.push(format!(
                "{title}: panel data source is not uid `prometheus`"
            ));
        }
        for target in panel["targets"].as_array().into_iter().flatten() {
            if target["datasource"]["uid"] != "prometheus" {
                problems.push(format!(
                    "{title}: query data source is not uid `prometheus`"
                ));
            }
        }
    }
    let queries = queries(&d);
    assert!(queries.len() >= 30, "only {} queries", queries.len());
    for (title, expr) in &queries {
        for variable in variables_in(expr) {
            if !VARIABLES.contains(&variable.as_str()) {
                problems.push(format!("{title}: variable {variable}"));
            }
        }
        problems.extend(
            promql::problems(expr)
                .into_iter()
                .map(|p| format!("{title}: {p}")),
        );
        for s in promql::selectors(expr).unwrap_or_default() {
            let instance = s
                .matcher("instance")
                .map(|m| (m.op.as_str(), m.value.as_str()));
            if instance != Some(("=~", "$instance")) {
                problems.push(format!("{title}: `{}` not filtered by $instance", s.metric));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `$name` tokens in `expr`.
fn variables_in(expr: &str) -> Vec<String> {
    expr.match_indices('$')
        .map(|(at, _)| {
            let name: String = expr[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            format!("${name}")
        })
        .collect()
}

#[test]
fn every_catalogue_metric_is_on_the_dashboard() {
    let shown: BTreeSet<String> = queries(&dashboard())
        .iter()
        .flat_map(|(_, expr)| promql::selectors(expr).unwrap_or_default())
        .map(|s| {
            let m = s.metric;
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| m.strip_suffix(suffix).map(str::to_owned))
                .filter(|base| CATALOGUE.iter().any(|c| c.name == base))
                .unwrap_or(m)
        })
        .collect();
    let missing: Vec<&str> = CATALOGUE
        .iter()
        .map(|m| m.name)
        .filter(|name| !shown.contains(*name))
        .collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");
}

/// Grafana substitutes the variables before Prometheus sees a query; so does this test, then
/// promtool parses each query as a recording rule.
#[test]
fn promtool_parses_every_dashboard_query() {
    let queries = queries(&dashboard());
    let mut file = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (_, expr)) in queries.iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "1m")
            .replace("$instance", "tessera-1:8080|tessera-2:8080");
        // A JSON string is a YAML double-quoted scalar.
        let quoted = serde_json::to_string(&expr).expect("a string");
        file.push_str(&format!(
            "      - record: dashboard:query{i}\n        expr: {quoted}\n"
        ));
    }
    let dir = TempDir::new();
    let rules = dir.write("dashboard_rules.yml", &file);
    let mut cmd = promtool();
    cmd.arg("check").arg("rules").arg(&rules);
    let report = succeeds(cmd);
    assert_eq!(rules_found(&report), [queries.len()], "{report}");
}

#[test]
fn grafana_provisioning_names_the_prometheus_of_the_stack_and_the_dashboard_mount() {
    let datasource = read("deploy/grafana/provisioning/datasources/prometheus.yml");
    for line in [
        "uid: prometheus",
        "type: prometheus",
        "url: http://prometheus:9090",
    ] {
        assert!(
            datasource.lines().any(|l| l.trim() == line),
            "data source lacks `{line}`"
        );
    }
    let provider = read("deploy/grafana/provisioning/dashboards/tessera.yml");
    let compose = read("docker-compose.yml");
    let path = provider
        .lines()
        .find_map(|l| l.trim().strip_prefix("path: "))
        .expect("a dashboards path");
    assert!(
        compose.contains(&format!("./deploy/grafana/dashboards:{path}:ro")),
        "docker-compose.yml does not mount the dashboards at {path}"
    );
}
