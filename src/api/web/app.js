// The search page: talks to /api/ on this listener (docs/http-api.md).
// Everything shown from the server goes through textContent or attribute
// setters, never innerHTML: payload strings may hold markup.
"use strict";

const $ = (id) => document.getElementById(id);
const form = $("search-form"), collectionSelect = $("collection"), queryInput = $("query");
const fileInput = $("file"), drop = $("drop"), filterInput = $("filter"), limitInput = $("limit");
const fusionField = $("fusion-field"), fusionInput = $("fusion"), fusionValue = $("fusion-value");
const keyInput = $("api-key"), statusLine = $("status"), errorBox = $("error"), results = $("results");

const KEY_STORAGE = "clipdb-api-key";
let collections = [];
let objectUrls = [];
let latest = 0; // the newest search; answers to older ones are dropped
let completed = 0;

keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = keyInput.value.trim();
  if (key) h["x-api-key"] = key;
  return h;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  let response;
  try {
    response = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, "NETWORK", "the server did not answer (" + e.message + ")");
  }
  if (response.ok) return response.json();
  let code = "HTTP_" + response.status, message = response.statusText;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code;
      message = body.error.message;
    }
  } catch (_) { /* not JSON: keep the status line */ }
  throw new ApiError(response.status, code, message);
}

function describe(err) {
  if (err.status === 401) {
    return (keyInput.value.trim() ? "The server refused the API key: " : "This server needs an API key: ") +
      err.message + ". Enter a valid key in the API key box.";
  }
  if (err.status === 403) return "This API key may not do that: " + err.message;
  if (err.status === 413) return "The image is too large: " + err.message;
  if (err.status === 0) return err.message;
  return "Error " + err.status + " (" + err.code + "): " + err.message;
}

function showError(err) {
  errorBox.textContent = describe(err);
  errorBox.hidden = false;
}

function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = "";
}

function selected() {
  return collections.find((c) => c.name === collectionSelect.value);
}

function updateFusion() {
  const c = selected();
  fusionField.hidden = !(c && c.vectorizer === "clip");
  const image = Number(fusionInput.value);
  fusionValue.textContent = image + "% image, " + (100 - image) + "% caption";
}

async function loadCollections() {
  clearError();
  const previous = collectionSelect.value;
  try {
    const body = await api("/api/collections");
    collections = body.collections;
  } catch (err) {
    collections = [];
    collectionSelect.replaceChildren();
    showError(err);
    return;
  }
  const options = collections.map((c) => {
    const o = document.createElement("option");
    o.value = c.name;
    o.textContent = c.name + " (" + c.point_count.toLocaleString() + " points)";
    return o;
  });
  collectionSelect.replaceChildren(...options);
  if (collections.some((c) => c.name === previous)) collectionSelect.value = previous;
  const c = selected();
  if (c) fusionInput.value = Math.round((c.fusion.image / (c.fusion.image + c.fusion.text)) * 100);
  if (!collections.length) statusLine.textContent = "No collections yet: import some images (clipdb demo-data, clipdb import coco).";
  updateFusion();
}

function searchOptions() {
  const opts = { limit: Number(limitInput.value) || 24, filter: filterInput.value };
  const c = selected();
  if (c && c.vectorizer === "clip") {
    const image = Number(fusionInput.value) / 100;
    opts.fusion = { image: image, text: 1 - image };
  }
  return opts;
}

function caption(payload) {
  if (!payload) return "";
  for (const key of ["captions", "caption", "text", "title", "description"]) {
    const v = payload[key];
    if (Array.isArray(v) && v.length && typeof v[0] === "string") return v[0];
    if (typeof v === "string") return v;
  }
  return "";
}

function fileName(hit) {
  const p = hit.payload || {};
  if (typeof p.file_name === "string") return p.file_name;
  if (typeof p.name === "string") return p.name;
  if (typeof p.path === "string") return p.path.split(/[\\/]/).pop();
  return hit.id;
}

function payloadUrl(payload) {
  const url = payload && payload.url;
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

function placeholder(box, text) {
  const span = document.createElement("span");
  span.className = "placeholder";
  span.textContent = text;
  box.replaceChildren(span);
}

function showImage(box, src, alt) {
  const img = document.createElement("img");
  img.alt = alt;
  img.decoding = "async";
  img.addEventListener("error", () => placeholder(box, alt));
  img.src = src;
  box.replaceChildren(img);
}

async function loadThumbnail(box, hit, alt, search) {
  if (hit.thumbnail) {
    try {
      const response = await fetch(hit.thumbnail, { headers: headers() });
      if (response.ok) {
        const blob = await response.blob();
        if (search !== latest) return;
        const url = URL.createObjectURL(blob);
        objectUrls.push(url);
        showImage(box, url, alt);
        return;
      }
    } catch (_) { /* fall through to the payload's url */ }
  }
  const url = payloadUrl(hit.payload);
  if (url) showImage(box, url, alt);
  else placeholder(box, alt);
}

function render(body, label, roundTripMs, search) {
  objectUrls.forEach((u) => URL.revokeObjectURL(u));
  objectUrls = [];
  const items = body.hits.map((hit) => {
    const li = document.createElement("li");
    li.className = "hit";
    li.dataset.id = hit.id;
    const button = document.createElement("button");
    button.type = "button";
    const name = fileName(hit), text = caption(hit.payload);
    button.title = "More like " + name;
    button.setAttribute("aria-label", "#" + hit.rank + " " + name + (text ? ": " + text : "") + ". Show more like this");
    const box = document.createElement("div");
    box.className = "thumb";
    placeholder(box, "…");
    const meta = document.createElement("div");
    meta.className = "meta";
    const rank = document.createElement("span");
    rank.className = "rank";
    rank.textContent = "#" + hit.rank;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(3);
    meta.append(rank, score);
    const cap = document.createElement("p");
    cap.className = "caption";
    cap.textContent = text;
    const file = document.createElement("p");
    file.className = "file";
    file.textContent = name;
    button.append(box, meta, cap, file);
    button.addEventListener("click", () => moreLikeThis(hit.id, name));
    li.append(button);
    loadThumbnail(box, hit, name, search);
    return li;
  });
  results.replaceChildren(...items);
  const n = body.hits.length;
  statusLine.textContent = n + (n === 1 ? " result" : " results") + " for " + label +
    " · search " + body.took_ms.toFixed(1) + " ms · round trip " + roundTripMs.toFixed(0) + " ms";
}

async function runSearch(label, path, init) {
  const c = selected();
  if (!c) {
    showError(new ApiError(404, "NOT_FOUND", "no collection selected"));
    return;
  }
  const search = ++latest;
  clearError();
  results.setAttribute("aria-busy", "true");
  statusLine.textContent = "Searching " + label + "…";
  const started = performance.now();
  try {
    const body = await api("/api/collections/" + encodeURIComponent(c.name) + path, init);
    if (search !== latest) return;
    render(body, label, performance.now() - started, search);
  } catch (err) {
    if (search !== latest) return;
    results.replaceChildren();
    statusLine.textContent = "";
    showError(err);
  } finally {
    if (search === latest) {
      results.removeAttribute("aria-busy");
      document.body.dataset.searches = String(++completed);
    }
  }
}

function searchText() {
  const text = queryInput.value.trim();
  if (!text) {
    queryInput.focus();
    statusLine.textContent = "Type a sentence, or drop an image.";
    return;
  }
  const body = Object.assign({ text: text }, searchOptions());
  runSearch("“" + text + "”", "/search", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function moreLikeThis(id, name) {
  const body = Object.assign({ id: id }, searchOptions());
  runSearch("more like " + name, "/search", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function searchImage(file) {
  if (!file) return;
  const opts = searchOptions();
  const params = new URLSearchParams({ limit: String(opts.limit), filter: opts.filter });
  if (opts.fusion) {
    params.set("image_weight", String(opts.fusion.image));
    params.set("text_weight", String(opts.fusion.text));
  }
  runSearch("image " + file.name, "/search/image?" + params, {
    method: "POST",
    headers: { "content-type": file.type || "application/octet-stream" },
    body: file,
  });
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  searchText();
});
fileInput.addEventListener("change", () => {
  searchImage(fileInput.files[0]);
  fileInput.value = "";
});
drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    fileInput.click();
  }
});
["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (e) => {
  e.preventDefault();
  drop.classList.add("over");
}));
["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  searchImage(e.dataTransfer.files[0]);
});
collectionSelect.addEventListener("change", () => {
  const c = selected();
  if (c) fusionInput.value = Math.round((c.fusion.image / (c.fusion.image + c.fusion.text)) * 100);
  updateFusion();
});
fusionInput.addEventListener("input", updateFusion);
keyInput.addEventListener("change", () => {
  const key = keyInput.value.trim();
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  loadCollections();
});

loadCollections();
