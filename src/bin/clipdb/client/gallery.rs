//! A self-contained HTML page of search results: the query, then the ranked
//! images as thumbnails embedded as data URIs (the page opens anywhere, with
//! no files beside it), with scores and captions.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::search::{QueryInput, ResultRow};

/// Longest side of an embedded thumbnail, in pixels.
const THUMBNAIL_PX: u32 = 320;

/// Where to find a hit's image file: `images_dir/file_name` when a folder is
/// given, else the payload's `path`, else `file_name` as it is.
pub fn image_path(row: &ResultRow, images_dir: Option<&Path>) -> Option<PathBuf> {
    let file_name = row.file_name.as_deref();
    match (images_dir, file_name) {
        (Some(dir), Some(f)) => Some(dir.join(f)),
        _ => row
            .payload
            .get("path")
            .and_then(|p| p.as_str())
            .map(PathBuf::from)
            .or_else(|| file_name.map(PathBuf::from)),
    }
}

/// A JPEG thumbnail of an image file as a `data:` URI; None when the file
/// cannot be read or decoded (the page then shows the file name instead).
pub fn thumbnail_data_uri(path: &Path) -> Option<String> {
    let img = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .decode()
        .ok()?;
    let thumb = img.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX).to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut jpeg), 85)
        .encode_image(&thumb)
        .ok()?;
    Some(format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    ))
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the page.
pub fn render(
    collection: &str,
    query: &QueryInput,
    rows: &[ResultRow],
    images_dir: Option<&Path>,
) -> String {
    let query_html = match query {
        QueryInput::Text(t) => format!("<p class=\"query\">&ldquo;{}&rdquo;</p>", escape_html(t)),
        QueryInput::Image(p) => match thumbnail_data_uri(p) {
            Some(uri) => format!(
                "<p class=\"query\">Image query {}</p><img class=\"query-image\" src=\"{uri}\" alt=\"query image\">",
                escape_html(&p.display().to_string())
            ),
            None => format!(
                "<p class=\"query\">Image query {}</p>",
                escape_html(&p.display().to_string())
            ),
        },
    };
    let mut cards = String::new();
    for row in rows {
        let name = row.file_name.clone().unwrap_or_else(|| row.id.clone());
        let picture = image_path(row, images_dir)
            .and_then(|p| thumbnail_data_uri(&p))
            .map(|uri| format!("<img src=\"{uri}\" alt=\"{}\">", escape_html(&name)))
            .unwrap_or_else(|| {
                format!(
                    "<div class=\"missing\">image not found<br>{}</div>",
                    escape_html(&name)
                )
            });
        let captions: String = row
            .captions
            .iter()
            .map(|c| format!("<li>{}</li>", escape_html(c)))
            .collect();
        cards.push_str(&format!(
            "<figure class=\"hit\" data-rank=\"{rank}\" data-id=\"{id}\">{picture}<figcaption>\
             <div class=\"meta\"><span class=\"rank\">#{rank}</span> <span class=\"score\">{score:.4}</span></div>\
             <div class=\"file\">{file}</div><ul>{captions}</ul></figcaption></figure>\n",
            rank = row.rank,
            id = escape_html(&row.id),
            score = row.score,
            file = escape_html(&name),
        ));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clipdb search: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; background: #fafafa; color: #222; }}
h1 {{ font-size: 1.2rem; margin: 0 0 .3rem; }}
.query {{ font-size: 1.4rem; margin: .2rem 0 1rem; }}
.query-image {{ max-width: 240px; border-radius: 6px; margin-bottom: 1rem; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 1rem; }}
.hit {{ margin: 0; background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.15); overflow: hidden; }}
.hit img {{ width: 100%; height: 220px; object-fit: contain; background: #eee; display: block; }}
.missing {{ height: 220px; display: flex; align-items: center; justify-content: center; text-align: center; background: #eee; color: #888; }}
figcaption {{ padding: .5rem .7rem .7rem; font-size: .9rem; }}
.meta {{ display: flex; justify-content: space-between; font-weight: 600; }}
.score {{ font-variant-numeric: tabular-nums; color: #555; }}
.file {{ color: #777; font-size: .8rem; overflow-wrap: anywhere; }}
ul {{ margin: .3rem 0 0; padding-left: 1.1rem; }}
</style>
</head>
<body>
<h1>clipdb &middot; collection {collection} &middot; top {n}</h1>
{query_html}
<div class="grid">
{cards}</div>
</body>
</html>
"#,
        title = escape_html(&match query {
            QueryInput::Text(t) => t.clone(),
            QueryInput::Image(p) => p.display().to_string(),
        }),
        collection = escape_html(collection),
        n = rows.len(),
    )
}
