use super::*;
use serde_json::json;

fn summary(extra: Value) -> Value {
    let mut v = json!({"schema": SCHEMA});
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    v
}

#[test]
fn counts_add_and_the_capture_span_widens() {
    let a = summary(
        json!({"capture": {"frames": 3, "first_ts": 10.5, "last_ts": 11.0, "link_types": ["EN10MB"], "truncated": false, "sources": ["a"]},
        "packets": {"total": 4, "by_type": {"PUBLISH": 3, "CONNECT": 1}}}),
    );
    let b = summary(
        json!({"capture": {"frames": 5, "first_ts": 9.0, "last_ts": 10.9, "link_types": ["RAW"], "truncated": true, "sources": ["b"]},
        "packets": {"total": 2, "by_type": {"PUBLISH": 1, "PUBACK": 1}}}),
    );
    let m = merge(&[a, b], MergeLimits::default()).unwrap();
    assert_eq!(m["capture"]["frames"], 8);
    assert_eq!(m["capture"]["first_ts"], 9.0);
    assert_eq!(m["capture"]["last_ts"], 11.0);
    assert_eq!(m["capture"]["truncated"], true);
    assert_eq!(m["capture"]["sources"], json!(["a", "b"]));
    assert_eq!(m["capture"]["link_types"], json!(["EN10MB", "RAW"]));
    assert_eq!(
        m["packets"]["by_type"],
        json!({"PUBLISH": 4, "CONNECT": 1, "PUBACK": 1})
    );
}

#[test]
fn another_schema_or_not_a_summary_is_refused() {
    let other = json!({"schema": "mqtt-inspect/2", "type": "summary"});
    assert!(matches!(
        merge(&[summary(json!({})), other], MergeLimits::default()),
        Err(MergeError::Schema { part: 1, .. })
    ));
    assert!(matches!(
        merge(&[json!([1, 2])], MergeLimits::default()),
        Err(MergeError::NotSummary { part: 0 })
    ));
    assert!(matches!(
        merge(&[], MergeLimits::default()),
        Err(MergeError::Empty)
    ));
}

#[test]
fn lists_are_bounded_and_what_does_not_fit_is_counted() {
    let f = |n: u64| json!({"kind": "missing_ack", "severity": "error", "connection": n});
    let a = summary(json!({"findings": [f(0), f(1)], "findings_dropped": 4}));
    let b = summary(json!({"findings": [f(0)], "findings_dropped": 1}));
    let limits = MergeLimits {
        findings: 2,
        ..MergeLimits::default()
    };
    let m = merge(&[a, b], limits).unwrap();
    assert_eq!(m["findings"].as_array().unwrap().len(), 2);
    assert_eq!(m["findings"][1]["part"], 0);
    assert_eq!(m["findings_dropped"], 6);
}

#[test]
fn unlisted_connections_fold_into_the_totals() {
    let conn = |id: u64, close: &str| {
        json!({"id": id, "close": close, "encrypted": false, "mqtt": {"packets": {}},
               "client_to_server": {"bytes": 10, "segments": 2, "retransmissions": 1, "gap_bytes": 0},
               "server_to_client": {"bytes": 5, "segments": 1, "retransmissions": 0, "gap_bytes": 3}})
    };
    let unl = json!({"count": 1, "mqtt": 0, "encrypted": 0, "with_errors": 0, "with_warnings": 0, "bytes": 7,
                     "segments": 1, "retransmissions": 0, "gap_bytes": 0, "closed_fin": 1, "closed_rst": 0, "still_open": 0});
    let a = summary(
        json!({"connections": [conn(0, "fin"), conn(1, "rst")], "connections_unlisted": unl,
                           "findings": [{"severity": "error", "connection": 1}]}),
    );
    let b = summary(json!({"connections": [conn(0, "open")], "connections_unlisted": unl}));
    let limits = MergeLimits {
        connections: 1,
        ..MergeLimits::default()
    };
    let m = merge(&[a, b], limits).unwrap();
    // the connection with an error stays listed
    assert_eq!(m["connections"], json!([with_part(&conn(1, "rst"), 0)]));
    let u = &m["connections_unlisted"];
    assert_eq!(u["count"], 4);
    assert_eq!(u["bytes"], 7 + 7 + 15 + 15);
    assert_eq!(u["retransmissions"], 2);
    assert_eq!(u["gap_bytes"], 6);
    assert_eq!(
        (
            u["closed_fin"].clone(),
            u["still_open"].clone(),
            u["closed_rst"].clone()
        ),
        (json!(3), json!(1), json!(0))
    );
    assert_eq!(u["mqtt"], 2);
}

#[test]
fn filtered_runs_merge_only_with_the_same_filters() {
    let f = json!({"connections": [], "clients": ["a"], "topics": [], "kinds": []});
    let a = summary(json!({"filters": f.clone(), "packets": {"total": 1}}));
    let m = merge(&[a.clone(), a.clone()], MergeLimits::default()).unwrap();
    assert_eq!(m["filters"], f, "named once, not added up");
    assert_eq!(m["packets"]["total"], 2);
    let plain = summary(json!({"packets": {"total": 1}}));
    assert!(merge(&[plain.clone(), plain], MergeLimits::default()).unwrap()["filters"].is_null());
    let other = summary(
        json!({"filters": {"connections": [], "clients": ["b"], "topics": [], "kinds": []}}),
    );
    let e = merge(&[a.clone(), other], MergeLimits::default()).unwrap_err();
    assert!(e.to_string().contains("filters"), "{e}");
    let unfiltered = summary(json!({"packets": {"total": 1}}));
    assert!(merge(&[a, unfiltered], MergeLimits::default()).is_err());
}
