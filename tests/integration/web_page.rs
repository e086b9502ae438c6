//! The search page (`/`) and its JSON API (`/api/`) on the HTTP listener,
//! against the real server holding the demo shapes (`clipdb demo-data` +
//! `clipdb import coco`, as the README's recipe): the API's answers to bad
//! input over plain HTTP, and the page itself in headless Chromium driven
//! through chromedriver (WebDriver, with fantoccini). Chromium and
//! chromedriver come from Debian's packages: `tests/setup/chromium.sh`.
//!
//! `CLIPDB_SCREENSHOT=docs/images/search-page.png cargo test --test
//! integration web_page::` also writes the README's screenshot.

use crate::common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clipdb::proto::*;
use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const WRITER: &str = "web-writer-key";
const READER: &str = "web-reader-key";
/// The demo image the point with a hostile payload is stored with.
const HOSTILE_IMAGE: &str = "2";

fn clipdb(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(args)
        .output()
        .expect("run clipdb");
    assert!(
        out.status.success(),
        "clipdb {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `clipdb demo-data` into `dir/shapes`, then `clipdb import coco` into the
/// collection `shapes` with the writer key. Returns the data folder.
fn demo_shapes(dir: &Path, server: &TestServer, count: usize) -> PathBuf {
    let data = dir.join("shapes");
    let count = count.to_string();
    clipdb(&[
        "demo-data",
        "--out",
        data.to_str().unwrap(),
        "--count",
        &count,
        "--seed",
        "21",
    ]);
    clipdb(&[
        "import",
        "coco",
        "--annotations",
        data.join("captions.json").to_str().unwrap(),
        "--images",
        data.join("images").to_str().unwrap(),
        "--collection",
        "shapes",
        "--server",
        &server.url(),
        "--api-key",
        WRITER,
        "--no-progress",
    ]);
    data
}

/// `(colour, shape)` of each image's objects, by image id.
fn ground_truth(data: &Path) -> HashMap<String, Vec<(String, String)>> {
    let v: Value =
        serde_json::from_slice(&std::fs::read(data.join("captions.json")).unwrap()).unwrap();
    v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|img| {
            let objects = img["scene"]["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    let s = |k: &str| o[k].as_str().unwrap().to_string();
                    (s("colour"), s("shape"))
                })
                .collect();
            (img["id"].to_string(), objects)
        })
        .collect()
}

fn image_file(data: &Path, id: &str) -> PathBuf {
    data.join("images")
        .join(format!("{:012}.jpg", id.parse::<u64>().unwrap()))
}

/// An HTTP/1.1 answer.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The error body's message, checking its shape.
    fn error_message(&self) -> String {
        let v = self.json();
        assert!(v["error"]["code"].is_string(), "{v}");
        v["error"]["message"].as_str().unwrap().to_string()
    }
}

/// One request over a fresh connection (plain std TCP: the test sees the
/// bytes the server sends, status line and headers included).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    // The server may answer (413) before reading all of a large body.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    Answer {
        status: status.parse().unwrap(),
        headers: lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect(),
        body: raw[split + 4..].to_vec(),
    }
}

fn search_json(addr: &str, key: &str, collection: &str, body: Value) -> Answer {
    http(
        addr,
        "POST",
        &format!("/api/collections/{collection}/search"),
        &[("x-api-key", key), ("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
}

fn start_server(dir: &Path, extra: &[&str]) -> TestServer {
    let mut args = vec![
        "--model",
        "demo",
        "--api-key",
        WRITER,
        "--read-only-api-key",
        READER,
    ];
    args.extend_from_slice(extra);
    TestServer::start(&dir.join("db"), &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_api_answers_bad_input_with_the_right_status_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &["--max-image-bytes", "20000"]);
    let addr = server.http_addr.clone().expect("http listener");
    let data = demo_shapes(dir.path(), &server, 12);
    let image = std::fs::read(image_file(&data, "1")).unwrap();
    assert!(image.len() < 20000);

    // The read-only key may list, search and fetch thumbnails.
    let list = http(
        &addr,
        "GET",
        "/api/collections",
        &[("x-api-key", READER)],
        b"",
    );
    assert_eq!(list.status, 200);
    let v = list.json();
    assert_eq!(v["collections"][0]["name"], "shapes");
    assert_eq!(v["collections"][0]["point_count"], 12);
    assert_eq!(v["collections"][0]["thumbnails"], true);
    let found = search_json(
        &addr,
        READER,
        "shapes",
        json!({"text": "a red circle", "limit": 5}),
    );
    assert_eq!(
        found.status,
        200,
        "{}",
        String::from_utf8_lossy(&found.body)
    );
    let hits = found.json()["hits"].as_array().unwrap().clone();
    assert_eq!(hits.len(), 5);
    assert_eq!(hits[0]["rank"], 1);
    assert!(hits[0]["payload"]["captions"].is_array());

    // A thumbnail: a small JPEG with caching headers, revalidated by its tag.
    let thumbnail_path = hits[0]["thumbnail"].as_str().unwrap().to_string();
    let thumb = http(&addr, "GET", &thumbnail_path, &[("x-api-key", READER)], b"");
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    assert!(thumb.header("cache-control").unwrap().contains("max-age"));
    let decoded = image::load_from_memory(&thumb.body).unwrap();
    assert!(decoded.width().max(decoded.height()) <= 192);
    let etag = thumb.header("etag").unwrap().to_string();
    let again = http(
        &addr,
        "GET",
        &thumbnail_path,
        &[("x-api-key", READER), ("if-none-match", &etag)],
        b"",
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    // Keys: none, a wrong one.
    let missing = http(&addr, "GET", "/api/collections", &[], b"");
    assert_eq!(missing.status, 401);
    assert!(missing.error_message().contains("missing API key"));
    let wrong = search_json(&addr, "not-a-key", "shapes", json!({"text": "x"}));
    assert_eq!(wrong.status, 401);
    assert!(wrong.error_message().contains("invalid API key"));

    // Unknown collection, absurd limit, malformed filter, malformed body.
    let unknown = search_json(&addr, READER, "nope", json!({"text": "x"}));
    assert_eq!(unknown.status, 404);
    assert!(unknown
        .error_message()
        .contains("collection `nope` not found"));
    let absurd = search_json(
        &addr,
        READER,
        "shapes",
        json!({"text": "x", "limit": 1_000_000}),
    );
    assert_eq!(absurd.status, 400);
    assert!(
        absurd
            .error_message()
            .starts_with("limit: 1000000 is outside"),
        "{}",
        absurd.error_message()
    );
    let zero = search_json(&addr, READER, "shapes", json!({"text": "x", "limit": 0}));
    assert_eq!(zero.status, 400);
    let bad_filter = search_json(
        &addr,
        READER,
        "shapes",
        json!({"text": "x", "filter": "width>=wide"}),
    );
    assert_eq!(bad_filter.status, 400);
    assert!(bad_filter
        .error_message()
        .contains("`wide` is not a number"));
    let both = search_json(&addr, READER, "shapes", json!({"text": "x", "id": "1"}));
    assert_eq!(both.status, 400);
    assert!(both
        .error_message()
        .contains("exactly one of `text` or `id`"));
    let garbage = http(
        &addr,
        "POST",
        "/api/collections/shapes/search",
        &[("x-api-key", READER)],
        b"{\"text\": ",
    );
    assert_eq!(garbage.status, 400);
    assert!(garbage
        .error_message()
        .starts_with("body: not a search request"));
    let unknown_id = search_json(&addr, READER, "shapes", json!({"id": "no-such-point"}));
    assert_eq!(unknown_id.status, 400);
    assert!(unknown_id
        .error_message()
        .contains("point `no-such-point` not found"));

    // Image uploads: a real one, a non-image, one over --max-image-bytes.
    let by_image = http(
        &addr,
        "POST",
        "/api/collections/shapes/search/image?limit=3",
        &[("x-api-key", READER), ("content-type", "image/jpeg")],
        &image,
    );
    assert_eq!(
        by_image.status,
        200,
        "{}",
        String::from_utf8_lossy(&by_image.body)
    );
    assert_eq!(by_image.json()["hits"][0]["id"], "1");
    let not_image = http(
        &addr,
        "POST",
        "/api/collections/shapes/search/image",
        &[("x-api-key", READER)],
        b"<html>not an image</html>",
    );
    assert_eq!(not_image.status, 400);
    assert!(
        not_image.error_message().starts_with("query.image: "),
        "{}",
        not_image.error_message()
    );
    let oversized = http(
        &addr,
        "POST",
        "/api/collections/shapes/search/image",
        &[("x-api-key", READER)],
        &vec![0xffu8; 30_000],
    );
    assert_eq!(oversized.status, 413);
    assert!(oversized.error_message().contains("limit of 20000 bytes"));
    let empty = http(
        &addr,
        "POST",
        "/api/collections/shapes/search/image",
        &[("x-api-key", READER)],
        b"",
    );
    assert_eq!(empty.status, 400);

    // Thumbnails of unknown points, and unknown endpoints.
    let no_thumb = http(
        &addr,
        "GET",
        "/api/collections/shapes/points/no-such-point/thumbnail",
        &[("x-api-key", READER)],
        b"",
    );
    assert_eq!(no_thumb.status, 404);
    assert!(no_thumb.error_message().contains("no thumbnail"));
    assert_eq!(
        http(&addr, "GET", "/api/nothing", &[("x-api-key", READER)], b"").status,
        404
    );

    // The page itself needs no key (it holds no data) and forbids inline
    // scripts; the API it calls does.
    let page = http(&addr, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("<script src=\"/assets/app.js\">"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'self'"));
    assert_eq!(http(&addr, "GET", "/assets/app.js", &[], b"").status, 200);
    // Nothing was written by any of it.
    let list = http(
        &addr,
        "GET",
        "/api/collections",
        &[("x-api-key", READER)],
        b"",
    );
    assert_eq!(list.json()["collections"][0]["point_count"], 12);
}

/// chromedriver on a free port, ended with the test.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const INSTALL: &str = "bash tests/setup/chromium.sh (apt-get install chromium chromium-driver)";

fn start_chromedriver() -> Chromedriver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run chromedriver ({e}); install it: {INSTALL}"));
    let driver = Chromedriver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return driver;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("chromedriver did not listen on port {port}");
}

fn chromium_binary() -> String {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(candidate).output() {
            if out.status.success() {
                return String::from_utf8_lossy(&out.stdout).trim().to_string();
            }
        }
    }
    panic!("no chromium on PATH; install it: {INSTALL}");
}

async fn browser(driver: &Chromedriver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium_binary(),
            // No network beyond loopback here: keep Chromium from waiting on it.
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1100,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("start a Chromium session through chromedriver")
}

/// How many searches the page has finished (it counts them on `<body>`).
async fn searches_done(c: &Client) -> u64 {
    let v = c
        .execute(
            "return Number(document.body.dataset.searches || 0);",
            vec![],
        )
        .await
        .unwrap();
    v.as_u64().unwrap()
}

/// Waits until the page finished a search after the `before`th.
async fn wait_for_search(c: &Client, before: u64) {
    for _ in 0..600 {
        if searches_done(c).await > before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page finished no search");
}

/// The grid as shown: (id, rank text, caption text, file text) per result.
async fn grid(c: &Client) -> Vec<(String, String, String, String)> {
    let v = c
        .execute(
            r#"return [...document.querySelectorAll('#results li')].map(li => [
                li.dataset.id, li.querySelector('.rank').textContent,
                li.querySelector('.caption').textContent, li.querySelector('.file').textContent]);"#,
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn search_text(c: &Client, text: &str) {
    let before = searches_done(c).await;
    let query = c.find(Locator::Id("query")).await.unwrap();
    query.clear().await.unwrap();
    query.send_keys(text).await.unwrap();
    // Enter in the text box submits, as a keyboard user would.
    query.send_keys("\u{E007}").await.unwrap();
    wait_for_search(c, before).await;
}

/// Waits until every thumbnail of the grid is an image (not a placeholder).
async fn wait_for_thumbnails(c: &Client) {
    for _ in 0..200 {
        let done = c
            .execute(
                r#"const imgs = [...document.querySelectorAll('#results .thumb img')];
                   return imgs.length === document.querySelectorAll('#results li').length
                       && imgs.every(i => i.complete && i.naturalWidth > 0);"#,
                vec![],
            )
            .await
            .unwrap();
        if done == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("thumbnails did not load");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_page_finds_shapes_by_sentence_image_and_click() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let addr = server.http_addr.clone().expect("http listener");
    let data = demo_shapes(dir.path(), &server, 160);
    let truth = ground_truth(&data);
    // A point whose caption is markup and script: shown as text, never run.
    let hostile = "<img src=x onerror=\"document.body.dataset.pwned=1\"><b>bold</b> red circle";
    let mut upsert = tonic::Request::new(UpsertRequest {
        collection: "shapes".into(),
        points: vec![Point {
            id: "<script>alert(1)</script>".into(),
            image: std::fs::read(image_file(&data, HOSTILE_IMAGE)).unwrap(),
            payload: Some(payload(json!({
                "captions": [hostile],
                "file_name": "<i>evil</i>.jpg",
            }))),
            ..Default::default()
        }],
    });
    upsert
        .metadata_mut()
        .insert("x-api-key", WRITER.parse().unwrap());
    server.points().await.upsert(upsert).await.expect("upsert");

    // A collection keeping no thumbnails: one point links its image (`url`,
    // served from elsewhere), one has nothing to show.
    let image_url = serve_one_image(std::fs::read(image_file(&data, "3")).unwrap());
    let mut create = tonic::Request::new(CreateCollectionRequest {
        name: "urls".into(),
        vectorizer: Vectorizer::Clip as i32,
        thumbnails: Some(ThumbnailOptions {
            disabled: true,
            ..Default::default()
        }),
        ..Default::default()
    });
    create
        .metadata_mut()
        .insert("x-api-key", WRITER.parse().unwrap());
    server
        .collections()
        .await
        .create_collection(create)
        .await
        .expect("create");
    let linked = |id: &str, url: Option<&str>| Point {
        id: id.into(),
        image: std::fs::read(image_file(&data, "3")).unwrap(),
        payload: Some(payload(match url {
            Some(url) => json!({"file_name": format!("{id}.jpg"), "url": url}),
            None => json!({"file_name": format!("{id}.jpg")}),
        })),
        ..Default::default()
    };
    let mut upsert = tonic::Request::new(UpsertRequest {
        collection: "urls".into(),
        points: vec![linked("linked", Some(&image_url)), linked("bare", None)],
    });
    upsert
        .metadata_mut()
        .insert("x-api-key", WRITER.parse().unwrap());
    server.points().await.upsert(upsert).await.expect("upsert");

    let driver = start_chromedriver();
    let c = browser(&driver, &dir.path().join("chromium-profile")).await;
    // The steps run in a task so that a failing one still lets the session
    // close (else Chromium outlives the test), then fails the test.
    let client = c.clone();
    let steps = tokio::spawn(async move {
        drive_the_page(&client, &addr, &data, &truth, hostile).await;
        drive_urls_collection(&client, &image_url).await;
    })
    .await;
    let closed = c.close().await;
    if let Err(failed) = steps {
        std::panic::resume_unwind(failed.into_panic());
    }
    closed.expect("close the browser session");
}

async fn drive_the_page(
    c: &Client,
    addr: &str,
    data: &Path,
    truth: &HashMap<String, Vec<(String, String)>>,
    hostile: &str,
) {
    c.goto(&format!("http://{addr}/")).await.unwrap();

    // Without a key the page says the server needs one; a wrong key is
    // named as refused.
    c.wait()
        .for_element(Locator::Css("#error:not([hidden])"))
        .await
        .unwrap();
    let message = text_of(c, "#error").await;
    assert!(
        message.contains("This server needs an API key"),
        "{message}"
    );
    let key = c.find(Locator::Id("api-key")).await.unwrap();
    key.send_keys("wrong-key\u{E004}").await.unwrap(); // Tab: change event
    wait_until_error_says(c, "refused the API key").await;

    // The read-only key: collections listed with their point counts.
    key.clear().await.unwrap();
    key.send_keys(&format!("{READER}\u{E004}")).await.unwrap();
    for _ in 0..200 {
        let options = text_of(c, "#collection").await;
        if options.contains("shapes (161 points)") && options.contains("urls (2 points)") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        text_of(c, "#collection").await,
        "shapes (161 points)\nurls (2 points)"
    );
    assert!(c
        .find(Locator::Id("error"))
        .await
        .unwrap()
        .attr("hidden")
        .await
        .unwrap()
        .is_some());

    // A sentence: 24 results, red circles at the top.
    search_text(c, "a red circle").await;
    let shown = grid(c).await;
    assert_eq!(shown.len(), 24, "{shown:?}");
    let red_circle = |id: &str| {
        truth
            .get(id)
            .is_some_and(|objs| objs.iter().any(|(col, s)| col == "red" && s == "circle"))
    };
    let top: Vec<&str> = shown.iter().take(4).map(|r| r.0.as_str()).collect();
    let right = top.iter().filter(|id| red_circle(id)).count();
    assert!(
        red_circle(top[0]) && right >= 3,
        "top 4 {top:?}: {right} red circles"
    );
    assert_eq!(shown[0].1, "#1");
    assert_eq!(shown[23].1, "#24");
    let status = text_of(c, "#status").await;
    assert!(
        status.starts_with("24 results for “a red circle”") && status.contains(" ms"),
        "{status}"
    );
    wait_for_thumbnails(c).await;
    if let Ok(path) = std::env::var("CLIPDB_SCREENSHOT") {
        write_screenshot(c, Path::new(&path)).await;
    }

    // An image: it comes back first.
    let id = shown
        .iter()
        .find(|r| r.0.parse::<u64>().is_ok() && r.0 != HOSTILE_IMAGE)
        .unwrap()
        .0
        .clone();
    let before = searches_done(c).await;
    let file = c.find(Locator::Id("file")).await.unwrap();
    file.send_keys(image_file(data, &id).to_str().unwrap())
        .await
        .unwrap();
    wait_for_search(c, before).await;
    let shown = grid(c).await;
    assert_eq!(shown[0].0, id, "{shown:?}");
    let status = text_of(c, "#status").await;
    assert!(
        status.contains(&format!("for image {:012}.jpg", id.parse::<u64>().unwrap())),
        "{status}"
    );

    // A click on the third result: "more like this" of that point, which
    // itself is left out of its results.
    let third = shown[2].clone();
    let before = searches_done(c).await;
    c.find(Locator::Css("#results li:nth-child(3) button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_search(c, before).await;
    let status = text_of(c, "#status").await;
    assert!(
        status.contains(&format!("for more like {}", third.3)),
        "{status}"
    );
    let shown = grid(c).await;
    assert_eq!(shown.len(), 24);
    assert!(shown.iter().all(|r| r.0 != third.0), "{shown:?}");

    // An invalid filter: the server's message, on the page.
    let filter = c.find(Locator::Id("filter")).await.unwrap();
    filter.send_keys("width>=wide").await.unwrap();
    search_text(c, "a red circle").await;
    let message = text_of(c, "#error").await;
    assert!(
        message.contains("INVALID_ARGUMENT")
            && message.contains("filter: `width>=wide`: `wide` is not a number"),
        "{message}"
    );
    assert!(grid(c).await.is_empty());
    // A valid one narrows the results.
    filter.clear().await.unwrap();
    filter.send_keys("coco_id<=20").await.unwrap();
    search_text(c, "a red circle").await;
    let shown = grid(c).await;
    assert!(!shown.is_empty() && shown.len() <= 20, "{shown:?}");
    assert!(shown.iter().all(|r| r.0.parse::<u64>().unwrap() <= 20));

    // A payload holding markup and script, found through the filter box
    // (whose value holds markup too): shown as text, no element of it
    // exists, nothing ran.
    filter.clear().await.unwrap();
    filter.send_keys("file_name=<i>evil</i>.jpg").await.unwrap();
    search_text(c, "a red circle").await;
    let shown = grid(c).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].0, "<script>alert(1)</script>");
    assert_eq!(shown[0].2, hostile);
    assert_eq!(shown[0].3, "<i>evil</i>.jpg");
    wait_for_thumbnails(c).await;
    let injected = c
        .execute(
            "return [document.querySelectorAll('#results b, #results i, #results script, #results img[src=x]').length, document.body.dataset.pwned || null];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, json!([0, null]));

    // At a phone's width nothing runs off the side: two result columns.
    c.set_window_size(390, 844).await.unwrap();
    let layout = c
        .execute(
            r#"const cols = getComputedStyle(document.getElementById('results')).gridTemplateColumns.split(' ').length;
               return [document.documentElement.scrollWidth <= window.innerWidth, cols];"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(layout, json!([true, 2]));
}

async fn wait_until_error_says(c: &Client, words: &str) {
    let mut last = String::new();
    for _ in 0..200 {
        last = text_of(c, "#error").await;
        if last.contains(words) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page's error never said {words:?}; it says {last:?}");
}

/// The README's screenshot: the page with results, as a small PNG.
async fn write_screenshot(c: &Client, path: &Path) {
    // Two rows of results at a laptop's width, shrunk: legible and small.
    c.set_window_size(980, 900).await.unwrap();
    wait_for_thumbnails(c).await;
    let png = c.screenshot().await.unwrap();
    c.set_window_size(1100, 900).await.unwrap();
    let img = image::load_from_memory(&png).unwrap();
    let small = img
        .resize(
            img.width() * 13 / 20,
            img.height() * 13 / 20,
            image::imageops::FilterType::Triangle,
        )
        .to_rgb8();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        file,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    small.write_with_encoder(encoder).unwrap();
}

fn thumbnail_of(addr: &str, collection: &str, id: &str) -> Answer {
    http(
        addr,
        "GET",
        &format!("/api/collections/{collection}/points/{id}/thumbnail"),
        &[],
        b"",
    )
}

/// Thumbnails are made at upsert, kept through a restart, replaced and
/// removed with their points, carried by snapshots, and absent where a
/// collection keeps none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thumbnails_live_and_die_with_their_points() {
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("db");
    let mut server = TestServer::start(&db_dir, &["--model", "demo"]);
    let data = dir.path().join("shapes");
    clipdb(&["demo-data", "--out", data.to_str().unwrap(), "--count", "6"]);
    let image = |id: &str| std::fs::read(image_file(&data, id)).unwrap();
    let mut collections = server.collections().await;
    let clip = |name: &str, thumbnails: Option<ThumbnailOptions>| CreateCollectionRequest {
        name: name.into(),
        vectorizer: Vectorizer::Clip as i32,
        thumbnails,
        ..Default::default()
    };
    let info = collections
        .create_collection(clip("kept", None))
        .await
        .unwrap()
        .into_inner();
    let options = info.thumbnails.unwrap();
    assert_eq!(
        (options.disabled, options.max_side, options.quality),
        (false, 192, 80)
    );
    let small = ThumbnailOptions {
        max_side: 32,
        quality: 60,
        ..Default::default()
    };
    collections
        .create_collection(clip("small", Some(small)))
        .await
        .unwrap();
    let off = ThumbnailOptions {
        disabled: true,
        ..Default::default()
    };
    collections
        .create_collection(clip("none", Some(off)))
        .await
        .unwrap();
    for bad in [
        ThumbnailOptions {
            max_side: 8,
            ..Default::default()
        },
        ThumbnailOptions {
            quality: 101,
            ..Default::default()
        },
    ] {
        let err = collections
            .create_collection(clip("bad", Some(bad)))
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            tonic::Code::InvalidArgument,
            "{}",
            err.message()
        );
        assert!(
            err.message().starts_with("thumbnails."),
            "{}",
            err.message()
        );
    }
    let mut points = server.points().await;
    let upsert = |collection: &str, points: Vec<Point>| UpsertRequest {
        collection: collection.into(),
        points,
    };
    let with_image = |id: &str, from: &str| Point {
        id: id.into(),
        image: image(from),
        ..Default::default()
    };
    for collection in ["kept", "small", "none"] {
        points
            .upsert(upsert(
                collection,
                (1..=4)
                    .map(|i| with_image(&format!("p{i}"), &i.to_string()))
                    .collect(),
            ))
            .await
            .unwrap();
    }
    let addr = server.http_addr.clone().unwrap();
    let kept: Vec<Vec<u8>> = (1..=4)
        .map(|i| {
            let a = thumbnail_of(&addr, "kept", &format!("p{i}"));
            assert_eq!(a.status, 200);
            a.body
        })
        .collect();
    let decoded = image::load_from_memory(&kept[0]).unwrap();
    assert_eq!(decoded.width().max(decoded.height()), 192);
    let decoded = image::load_from_memory(&thumbnail_of(&addr, "small", "p1").body).unwrap();
    assert_eq!(decoded.width().max(decoded.height()), 32);
    let none = thumbnail_of(&addr, "none", "p1");
    assert_eq!(none.status, 404);
    assert!(none.error_message().contains("has no thumbnail"));
    // Search hits name a thumbnail only where the collection keeps them.
    for (collection, expected) in [("kept", true), ("none", false)] {
        let found = search_json(&addr, "", collection, json!({"id": "p1", "limit": 3}));
        assert_eq!(
            found.status,
            200,
            "{}",
            String::from_utf8_lossy(&found.body)
        );
        let hits = found.json()["hits"].as_array().unwrap().clone();
        assert_eq!(hits.len(), 3);
        for hit in hits {
            assert_eq!(
                hit["thumbnail"].is_string(),
                expected,
                "{collection}: {hit}"
            );
        }
    }

    // Replaced with another image: another thumbnail. Replaced by a point
    // without an image (a caption only): none. Deleted: none.
    points
        .upsert(upsert("kept", vec![with_image("p1", "5")]))
        .await
        .unwrap();
    let replaced = thumbnail_of(&addr, "kept", "p1");
    assert_eq!(replaced.status, 200);
    assert_ne!(replaced.body, kept[0]);
    let caption_only = Point {
        id: "p2".into(),
        text: "a red circle".into(),
        ..Default::default()
    };
    points
        .upsert(upsert("kept", vec![caption_only]))
        .await
        .unwrap();
    assert_eq!(thumbnail_of(&addr, "kept", "p2").status, 404);
    points
        .delete(DeleteRequest {
            collection: "kept".into(),
            ids: vec!["p3".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(thumbnail_of(&addr, "kept", "p3").status, 404);

    // A snapshot now, then a change after it; a restart keeps everything.
    let snapshot = collections
        .create_snapshot(CreateSnapshotRequest {
            collection: "kept".into(),
        })
        .await
        .unwrap()
        .into_inner();
    points
        .delete(DeleteRequest {
            collection: "kept".into(),
            ids: vec!["p4".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    drop((points, collections));
    server.stop();
    let server = TestServer::start(&db_dir, &["--model", "demo"]);
    let addr = server.http_addr.clone().unwrap();
    assert_eq!(thumbnail_of(&addr, "kept", "p1").body, replaced.body);
    assert_eq!(thumbnail_of(&addr, "kept", "p4").status, 404);
    drop(server);

    // Restored elsewhere: the snapshot's points with their thumbnails.
    let other = dir.path().join("restored");
    let out = restore(&snapshot.path, &other, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = TestServer::start(&other, &["--model", "demo"]);
    let addr = server.http_addr.clone().unwrap();
    assert_eq!(thumbnail_of(&addr, "kept", "p1").body, replaced.body);
    assert_eq!(thumbnail_of(&addr, "kept", "p4").body, kept[3]);
    assert_eq!(thumbnail_of(&addr, "kept", "p2").status, 404);
    assert_eq!(thumbnail_of(&addr, "kept", "p3").status, 404);
}

/// An HTTP server on loopback answering every request with `jpeg`; returns
/// its URL. It lives as long as the test process.
fn serve_one_image(jpeg: Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/image.jpg", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                request.push(byte[0]);
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                jpeg.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&jpeg);
        }
    });
    url
}

/// A collection without thumbnails: the point with a `url` shows that
/// image, the other a placeholder naming its file.
async fn drive_urls_collection(c: &Client, image_url: &str) {
    c.set_window_size(1100, 900).await.unwrap();
    c.find(Locator::Css("#collection option[value=urls]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let filter = c.find(Locator::Id("filter")).await.unwrap();
    filter.clear().await.unwrap();
    search_text(c, "a red circle").await;
    let shown = grid(c).await;
    assert_eq!(shown.len(), 2, "{shown:?}");
    let mut tries = 0;
    let boxes = loop {
        let v = c
            .execute(
                r#"return [...document.querySelectorAll('#results li')].map(li => {
                    const img = li.querySelector('.thumb img');
                    return [li.dataset.id, img ? img.src : null, img ? img.complete && img.naturalWidth > 0 : false,
                            li.querySelector('.thumb').textContent];
                });"#,
                vec![],
            )
            .await
            .unwrap();
        let boxes: Vec<(String, Option<String>, bool, String)> = serde_json::from_value(v).unwrap();
        let settled = boxes
            .iter()
            .all(|(_, src, loaded, text)| (src.is_some() && *loaded) || text.ends_with(".jpg"));
        tries += 1;
        if settled || tries > 200 {
            break boxes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let linked = boxes.iter().find(|b| b.0 == "linked").unwrap();
    assert_eq!(linked.1.as_deref(), Some(image_url), "{boxes:?}");
    assert!(linked.2, "the linked image did not load: {boxes:?}");
    let bare = boxes.iter().find(|b| b.0 == "bare").unwrap();
    assert_eq!(
        (bare.1.as_deref(), bare.3.as_str()),
        (None, "bare.jpg"),
        "{boxes:?}"
    );
}
