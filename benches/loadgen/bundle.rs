//! `bundle`: what a browser downloads before the pages come alive: the release wasm and its JS
//! glue (and the stylesheet), raw and gzipped (level 9, as a precompressing build step would), and
//! what the server actually sends for them when asked with `Accept-Encoding: gzip, br`.

use crate::report;
use crate::target::Env;
use crate::{Ctx, Outcome};
use anyhow::Result;
use flate2::write::GzEncoder;
use flate2::Compression;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use serde_json::{json, Value};
use std::io::Write;

const FILES: [&str; 3] = ["parley.wasm", "parley.js", "parley.css"];

fn gzip_len(bytes: &[u8], level: u32) -> std::io::Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

fn kib(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / 1024.0)
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
    // What the server sends, when there is a server to ask.
    let served: Option<Vec<(String, Option<String>, usize)>> =
        if ctx.remote.is_some() || ctx.launch.server_bin.is_file() {
            let mut env = Env::new(ctx).await?;
            let target = env.start().await?;
            let http = crate::provision::http_client()?;
            let mut out = Vec::new();
            for file in FILES {
                let res = http
                    .get(target.url(&format!("/pkg/{file}")))
                    .header(ACCEPT_ENCODING, "gzip, br")
                    .send()
                    .await?;
                let encoding = res
                    .headers()
                    .get(CONTENT_ENCODING)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let len = res.bytes().await?.len();
                out.push((file.to_owned(), encoding, len));
            }
            env.stop().await?;
            Some(out)
        } else {
            None
        };

    let mut rows = Vec::new();
    let mut files = Vec::new();
    let mut app_raw = 0;
    let mut app_gz = 0;
    for file in FILES {
        let Ok(bytes) = std::fs::read(pkg.join(file)) else {
            continue;
        };
        let gz9 = gzip_len(&bytes, 9)?;
        let gz6 = gzip_len(&bytes, 6)?;
        if file != "parley.css" {
            app_raw += bytes.len();
            app_gz += gz9;
        }
        let sent = served
            .as_ref()
            .and_then(|s| s.iter().find(|(f, _, _)| f == file))
            .map(|(_, enc, len)| (enc.clone(), *len));
        rows.push(vec![
            file.to_owned(),
            kib(bytes.len()),
            kib(gz6),
            kib(gz9),
            sent.as_ref().map_or("n/a".into(), |(enc, len)| {
                format!("{} ({})", kib(*len), enc.as_deref().unwrap_or("identity"))
            }),
        ]);
        files.push(json!({
            "file": file,
            "raw_bytes": bytes.len(),
            "gzip6_bytes": gz6,
            "gzip9_bytes": gz9,
            "served_bytes": sent.as_ref().map(|(_, len)| *len),
            "served_encoding": sent.as_ref().map(|(enc, _)| enc.clone().unwrap_or_else(|| "identity".into())),
        }));
    }
    rows.push(vec![
        "wasm + js".into(),
        kib(app_raw),
        String::new(),
        kib(app_gz),
        String::new(),
    ]);
    report::table(
        &format!("bundle ({})", pkg.display()),
        &[
            "file",
            "raw KiB",
            "gzip -6 KiB",
            "gzip -9 KiB",
            "served KiB (encoding)",
        ],
        &rows,
    );
    Ok(Outcome {
        errors: 0,
        json: json!({
            "files": files,
            "wasm_js_raw_bytes": app_raw,
            "wasm_js_gzip9_bytes": app_gz,
            "wasm_js_gzip9_kib": report::round(app_gz as f64 / 1024.0, 1),
            "served_checked": served.is_some(),
            "target_kib": Value::from(300),
        }),
    })
}
