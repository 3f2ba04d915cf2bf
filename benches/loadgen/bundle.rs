//! `bundle`: what a browser downloads before a page comes alive. Only a page's islands are
//! hydrated, and each island is split into its own lazily loaded part (`#[island(lazy)]` with
//! `cargo leptos build --split`): every page loads the main module (`parley.wasm`, its JS glue and
//! the split loader) and then the chunks of the islands on it, which the split manifest
//! (`__wasm_split_manifest.json`) lists per island. For each page below this reports the sum over
//! exactly those files: raw, gzipped (level 9, as the release build precompresses them) and what
//! the server actually sends for them when asked with `Accept-Encoding: gzip, br`. An unsplit
//! build (no manifest) is one bundle for every page.

use crate::report;
use crate::target::Env;
use crate::{Ctx, Outcome};
use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

/// Loaded by every page, split or not (the split loader only exists in a split build).
const MAIN_FILES: [&str; 3] = [
    "parley.wasm",
    "parley.js",
    "__wasm_split.______________________.js",
];
const MANIFEST: &str = "__wasm_split_manifest.json";
/// The pages the targets name, with the islands each one renders (their component names in
/// snake case, as the manifest spells them). The Playwright navigation test checks these lists
/// against the pages the server renders.
const PAGES: [(&str, &[&str]); 5] = [
    ("login", &[]),
    ("inbox", &["conversations"]),
    ("conversation", &["live_conversation"]),
    ("admin (users)", &["reset_link_form"]),
    ("settings", &["settings_sections"]),
];
/// Any page's wasm + JS, gzip -9 (issue targets; login has its own).
const TARGET_KIB: f64 = 300.0;
const LOGIN_TARGET_KIB: f64 = 120.0;

/// One file's sizes.
#[derive(Clone, Copy, Default)]
struct Sizes {
    raw: usize,
    gzip9: usize,
    /// As sent by the server, when there was one to ask.
    served: Option<usize>,
}

impl std::ops::AddAssign for Sizes {
    fn add_assign(&mut self, other: Self) {
        self.raw += other.raw;
        self.gzip9 += other.gzip9;
        self.served = self.served.zip(other.served).map(|(a, b)| a + b);
    }
}

fn gzip_len(bytes: &[u8], level: u32) -> std::io::Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

fn kib(bytes: usize) -> f64 {
    report::round(bytes as f64 / 1024.0, 1)
}

/// Island loader name -> the files (without `.wasm`) it needs beyond the main module.
fn read_manifest(pkg: &Path) -> Result<Option<BTreeMap<String, Vec<String>>>> {
    let path = pkg.join(MANIFEST);
    if !path.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let manifest: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    Ok(Some(manifest))
}

/// The manifest names an island's loader `<island>_loader_<hash>`.
fn island_files<'m>(
    manifest: &'m BTreeMap<String, Vec<String>>,
    island: &str,
) -> Option<&'m [String]> {
    let prefix = format!("{island}_loader_");
    manifest
        .iter()
        .find(|(name, _)| name.starts_with(&prefix))
        .map(|(_, files)| files.as_slice())
}

pub async fn bundle(ctx: &Ctx) -> Result<Outcome> {
    let pkg = ctx.launch.site_root.join("pkg");
    if !pkg.join("parley.wasm").is_file() {
        println!(
            "\nbundle: skipped: no {} (build the release site with `make release`)",
            pkg.join("parley.wasm").display()
        );
        return Ok(Outcome {
            errors: 0,
            json: json!({"skipped": format!("no {}", pkg.join("parley.wasm").display())}),
        });
    }
    let manifest = read_manifest(&pkg)?;
    let mut wanted: Vec<String> = MAIN_FILES.iter().map(|f| f.to_string()).collect();
    wanted.push("parley.css".into());
    if let Some(manifest) = &manifest {
        for files in manifest.values() {
            wanted.extend(files.iter().map(|f| format!("{f}.wasm")));
        }
    }
    wanted.sort();
    wanted.dedup();
    let sizes = measure(ctx, &pkg, &wanted).await?;

    let sum = |files: &mut dyn Iterator<Item = String>| {
        let mut total = Sizes {
            served: Some(0),
            ..Sizes::default()
        };
        let mut count = 0;
        for file in files {
            if let Some(s) = sizes.get(&file) {
                total += *s;
                count += 1;
            }
        }
        (count, total)
    };
    let (main_count, main) = sum(&mut MAIN_FILES.iter().map(|f| f.to_string()));
    let mut rows = vec![size_row("main module (every page)", main_count, main)];
    let mut pages = Vec::new();
    for (page, islands) in PAGES {
        // Islands share chunks: each file counts once.
        let mut chunks = std::collections::BTreeSet::new();
        if let Some(manifest) = &manifest {
            for island in islands {
                let files = island_files(manifest, island)
                    .with_context(|| format!("no island `{island}` in {MANIFEST}"))?;
                chunks.extend(files.iter().map(|f| format!("{f}.wasm")));
            }
        }
        let (count, islands_only) = sum(&mut chunks.iter().cloned());
        let mut total = main;
        total += islands_only;
        rows.push(size_row(page, main_count + count, total));
        let target = if page == "login" {
            LOGIN_TARGET_KIB
        } else {
            TARGET_KIB
        };
        pages.push(json!({
            "page": page,
            "files": main_count + count,
            "raw_bytes": total.raw,
            "gzip9_bytes": total.gzip9,
            "gzip9_kib": kib(total.gzip9),
            "served_bytes": total.served,
            "target_gzip9_kib": target,
            "within_target": kib(total.gzip9) <= target,
        }));
    }
    let largest = manifest.as_ref().and_then(|manifest| {
        manifest
            .iter()
            .map(|(name, files)| {
                let (count, mut total) = sum(&mut files.iter().map(|f| format!("{f}.wasm")));
                total += main;
                (name.clone(), count + main_count, total)
            })
            .max_by_key(|(_, _, total)| total.gzip9)
    });
    if let Some((name, count, total)) = &largest {
        rows.push(size_row(&format!("largest island: {name}"), *count, *total));
    }
    report::table(
        &format!(
            "bundle per page: main module + its islands' chunks ({}{})",
            pkg.display(),
            if manifest.is_some() {
                ", split by island"
            } else {
                ", not split"
            }
        ),
        &["page", "files", "raw KiB", "gzip -9 KiB", "served KiB"],
        &rows,
    );
    let css = sizes.get("parley.css").copied().unwrap_or_default();
    println!(
        "  targets: any page <= {TARGET_KIB} KiB gzip -9, login <= {LOGIN_TARGET_KIB} KiB; \
         stylesheet {} KiB raw, {} KiB gzip -9",
        kib(css.raw),
        kib(css.gzip9)
    );
    Ok(Outcome {
        errors: 0,
        json: json!({
            "split": manifest.is_some(),
            "islands": manifest.as_ref().map_or(0, BTreeMap::len),
            "main": {"files": main_count, "raw_bytes": main.raw, "gzip9_bytes": main.gzip9, "served_bytes": main.served},
            "pages": pages,
            "largest_island": largest.map(|(name, files, total)| json!({
                "island": name, "files": files, "gzip9_kib": kib(total.gzip9),
            })),
            "css": {"raw_bytes": css.raw, "gzip9_bytes": css.gzip9},
            "served_checked": main.served.is_some(),
            "target_kib": Value::from(TARGET_KIB),
        }),
    })
}

fn size_row(name: &str, files: usize, s: Sizes) -> Vec<String> {
    vec![
        name.to_owned(),
        files.to_string(),
        format!("{:.1}", kib(s.raw)),
        format!("{:.1}", kib(s.gzip9)),
        s.served.map_or("n/a".into(), |b| format!("{:.1}", kib(b))),
    ]
}

/// Each file's sizes on disk and, when a server can be started (or `--url` names one), as sent.
async fn measure(ctx: &Ctx, pkg: &Path, files: &[String]) -> Result<HashMap<String, Sizes>> {
    let mut sizes = HashMap::new();
    for file in files {
        let Ok(bytes) = std::fs::read(pkg.join(file)) else {
            continue;
        };
        sizes.insert(
            file.clone(),
            Sizes {
                raw: bytes.len(),
                gzip9: gzip_len(&bytes, 9)?,
                served: None,
            },
        );
    }
    if ctx.remote.is_none() && !ctx.launch.server_bin.is_file() {
        return Ok(sizes);
    }
    let mut env = Env::new(ctx).await?;
    let target = env.start().await?;
    let http = crate::provision::http_client()?;
    let mut encodings: BTreeMap<String, usize> = BTreeMap::new();
    for (file, s) in sizes.iter_mut() {
        let res = http
            .get(target.url(&format!("/pkg/{file}")))
            .header(ACCEPT_ENCODING, "gzip, br")
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("fetch /pkg/{file}"))?;
        let encoding = res
            .headers()
            .get(CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_owned();
        s.served = Some(res.bytes().await?.len());
        *encodings.entry(encoding).or_default() += 1;
    }
    env.stop().await?;
    println!("  served encodings (files): {encodings:?}");
    Ok(sizes)
}
