//! The demo export passes BIND's own checker, `named-checkzone` (Debian's bind9-utils), in every
//! format that is a zone file: absolute names, and names relative to `$ORIGIN`.

use pbx_pools::app::dns::{ExportParams, export_text};
use pbx_pools::domain::demo::source_document_cluster;
use std::process::Command;

use crate::helpers;

fn named_checkzone() -> Option<&'static str> {
    let found = Command::new("named-checkzone").arg("-v").output().is_ok();
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but named-checkzone is missing: .ci/run installs bind9-utils");
        }
        eprintln!("skipped: named-checkzone not installed (apt-get install bind9-utils)");
        return None;
    }
    Some("named-checkzone")
}

const HEADER: &str = "$TTL 3600\n@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300\n@ IN NS ns1.example.com.\nns1 IN A 192.0.2.53\n";

#[tokio::test]
async fn demo_export_passes_named_checkzone() {
    let Some(checker) = named_checkzone() else {
        return;
    };
    let db = helpers::sqlite().await;
    db.store
        .load_demo(&source_document_cluster(), "demo")
        .await
        .unwrap();
    let pools = db.store.pools().await.unwrap();
    let dir = std::env::temp_dir().join(format!("pbx-bind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (label, origin, ttl) in [("absolute", "", ""), ("relative", "example.com.", "86400")] {
        let params = ExportParams {
            origin: origin.into(),
            default_ttl: ttl.into(),
            ..ExportParams::default()
        };
        let (text, _) = export_text(&pools, &params).unwrap();
        let path = dir.join(format!("{label}.zone"));
        // The export is a snippet: the SOA and NS of the zone come from the admin's own file.
        let zone = if origin.is_empty() {
            format!("$ORIGIN example.com.\n{HEADER}{text}")
        } else {
            format!("{HEADER}{text}")
        };
        std::fs::write(&path, zone).unwrap();
        let out = Command::new(checker)
            .arg("example.com")
            .arg(&path)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{label}: named-checkzone refused the export:\n{report}\n{text}"
        );
        assert!(report.contains("OK"), "{report}");
        assert!(report.contains("loaded serial 1"), "{report}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    db.cleanup().await;
}
