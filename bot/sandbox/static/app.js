// The sandbox's web chat: everything it shows comes from /sandbox/api/state (long polling),
// so a reload or a second tab shows the same chats; what people do goes to the other
// /sandbox/api/ routes, as updates for the bot.
"use strict";

const $ = (id) => document.getElementById(id);
const KINDS = { private: "خواننده", group: "گروه", channel: "کانال", admin: "دبیر، ادمین" };
const COLORS = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

const view = {
  chat: Number(localStorage.getItem("khabar.chat")) || 0,
  writer: Number(localStorage.getItem("khabar.writer")) || 0,
  version: -1,
  state: null,
  elements: new Map(), // message key -> {signature, element}
  expanded: new Set(),
  poll: null,
  inline: { seq: 0, query: "", offset: "", queryId: "" },
  stick: false, // scroll to the newest message at the next showing (after one's own message)
};

function chatOf(id) {
  return view.state ? view.state.chats.find((chat) => chat.id === id) : undefined;
}

function writerFor(chat) {
  if (!chat) return 0;
  if (chat.kind === "private" || chat.kind === "admin") return chat.id;
  return view.writer || view.state.readers[0].id;
}

// ---------------------------------------------------------------- talking to the sandbox
async function post(path, body) {
  const response = await fetch(`/sandbox/api/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

async function pollForever() {
  for (;;) {
    view.poll = new AbortController();
    const chat = view.chat || "";
    try {
      const response = await fetch(
        `/sandbox/api/state?chat=${chat}&since=${view.version}&timeout=20`,
        { signal: view.poll.signal },
      );
      if (!response.ok) throw new Error(response.statusText);
      const state = await response.json();
      if (state.chat === view.chat || !view.chat) show(state);
    } catch (error) {
      if (error.name !== "AbortError") await new Promise((done) => setTimeout(done, 1000));
    }
  }
}

function refresh() {
  view.version = -1;
  if (view.poll) view.poll.abort();
}

// ---------------------------------------------------------------- showing the state
function show(state) {
  view.state = state;
  view.version = state.version;
  if (!chatOf(view.chat)) {
    view.chat = state.readers[0].id;
    refresh();
    return;
  }
  showChats();
  showHead();
  showMessages(state.messages);
}

function avatar(title, id) {
  const element = document.createElement("div");
  element.className = "avatar";
  element.style.background = COLORS[Math.abs(id) % COLORS.length];
  element.textContent = [...title][0] || "؟";
  return element;
}

function showChats() {
  const list = $("chat-list");
  list.replaceChildren(
    ...view.state.chats.map((chat) => {
      const item = document.createElement("li");
      item.className = "chat-item" + (chat.id === view.chat ? " active" : "");
      item.dataset.chatId = chat.id;
      item.dataset.kind = chat.kind;
      const meta = document.createElement("div");
      meta.className = "chat-meta";
      const name = document.createElement("div");
      name.className = "chat-name";
      name.textContent = chat.title;
      const kind = document.createElement("span");
      kind.className = "chat-kind";
      kind.textContent = KINDS[chat.kind];
      name.append(kind);
      const last = document.createElement("div");
      last.className = "chat-last";
      last.textContent = chat.last || "—";
      meta.append(name, last);
      item.append(avatar(chat.title, chat.id), meta);
      if (chat.count) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = chat.count.toLocaleString("fa");
        item.append(badge);
      }
      item.addEventListener("click", () => openChat(chat.id));
      return item;
    }),
  );
}

function showHead() {
  const chat = chatOf(view.chat);
  $("chat-title").textContent = chat.title;
  const subtitles = {
    private: `گفت‌وگوی ${chat.title} با ربات @${view.state.bot.username}`,
    group: "گروهی که ربات در آن عضو است؛ ربات فقط به فرمان‌ها جواب می‌دهد",
    channel: `@${chat.username}: کارت‌های تازه و خبرهای فوری`,
    admin: `گفت‌وگوی ${chat.title} (ادمین) با ربات؛ خبر فوری با /breaking، آمار با /stats`,
  };
  $("chat-subtitle").replaceChildren(withCommands(subtitles[chat.kind], false));
  const shared = chat.kind === "group" || chat.kind === "channel";
  $("writer-box").hidden = !shared;
  if (shared) {
    const select = $("writer");
    const current = writerFor(chat);
    select.replaceChildren(
      ...view.state.readers.map((reader) => {
        const option = document.createElement("option");
        option.value = reader.id;
        option.textContent = reader.name;
        option.selected = reader.id === current;
        return option;
      }),
    );
  }
  $("composer").hidden = chat.kind === "channel";
  $("readonly-note").hidden = chat.kind !== "channel";
  if (chat.kind === "channel") $("inline-panel").hidden = true;
}

function showMessages(messages) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const kept = new Map();
  const elements = messages.map((message) => {
    const signature = JSON.stringify(message);
    const known = view.elements.get(message.key);
    const element = known && known.signature === signature ? known.element : messageElement(message);
    if (known && known.signature !== signature) {
      element.classList.add("edited-now");
      setTimeout(() => element.classList.remove("edited-now"), 1000);
    }
    kept.set(message.key, { signature, element });
    return element;
  });
  view.elements = kept;
  if (!elements.length) {
    const empty = document.createElement("div");
    empty.className = "empty";
    const hints = {
      channel: "هنوز پستی نیست",
      group: "هنوز پیامی نیست؛ /latest را بفرستید یا با 🔍 خبری را اینجا بفرستید",
      admin: "هنوز پیامی نیست؛ /start، /breaking یا /stats را بفرستید",
    };
    empty.replaceChildren(withCommands(hints[chatOf(view.chat).kind] || "هنوز پیامی نیست؛ /start را بفرستید", true));
    elements.push(empty);
  }
  box.replaceChildren(...elements);
  if (atBottom || view.stick || box.dataset.chat !== String(view.chat)) {
    box.scrollTop = box.scrollHeight;
    view.stick = false;
  }
  box.dataset.chat = view.chat;
}

function messageElement(message) {
  const element = document.createElement("div");
  const mine = message.from === "user";
  element.className = `msg ${mine ? "out" : "in"} from-${message.from}`;
  element.dataset.key = message.key;
  if (message.message_id) element.dataset.messageId = message.message_id;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const chat = chatOf(view.chat);
  if (mine && chat.kind === "group") {
    const sender = document.createElement("div");
    sender.className = "sender";
    sender.textContent = message.user.name;
    bubble.append(sender);
  }
  if (message.via_bot) {
    const via = document.createElement("div");
    via.className = "via";
    via.textContent = `از طریق @${view.state.bot.username}`;
    bubble.append(via);
  }
  if (message.file_name) {
    const file = document.createElement("div");
    file.className = "file";
    file.textContent = `📄 ${message.file_name}`;
    bubble.append(file);
  }
  if ("photo" in message) bubble.append(photoElement(message.photo));
  if (message.rich) {
    bubble.classList.add("rich-bubble");
    bubble.append(richElement(message.rich));
  } else if (message.text) {
    const text = document.createElement("div");
    text.className = "text";
    text.append(formatted(message.text, message.entities || [], message.key));
    bubble.append(text);
  }
  if (message.edits) {
    const foot = document.createElement("div");
    foot.className = "foot";
    foot.textContent = "ویرایش‌شده";
    bubble.append(foot);
  }
  element.append(bubble);
  const rows = (message.reply_markup || {}).inline_keyboard;
  if (rows && rows.length) element.append(keyboard(rows, message));
  return element;
}

function photoElement(source) {
  if (!source) {
    const missing = document.createElement("div");
    missing.className = "photo-missing";
    missing.textContent = "🖼 عکس";
    return missing;
  }
  const image = document.createElement("img");
  image.className = "photo";
  image.alt = "";
  image.src = source;
  image.addEventListener("error", () => {
    const missing = document.createElement("div");
    missing.className = "photo-missing";
    missing.textContent = `🖼 ${source}`;
    image.replaceWith(missing);
  });
  return image;
}

// A rich message (Bot API 10.1): its HTML, which the sandbox's Bot API checked, rebuilt tag by
// tag from what Telegram allows, every attribute but a few dropped, links and media checked.
const RICH_TAGS = {
  b: "b", strong: "b", i: "i", em: "i", u: "u", ins: "u", s: "s", strike: "s", del: "s",
  code: "code", mark: "mark", sub: "sub", sup: "sup", cite: "cite", a: "a",
  "tg-spoiler": "span", "tg-math": "code", "tg-emoji": "span", "tg-time": "span",
  "tg-reference": "span", p: "p", h1: "h1", h2: "h2", h3: "h3", h4: "h4", h5: "h5", h6: "h6",
  footer: "footer", summary: "summary", caption: "caption", pre: "pre", aside: "aside",
  figcaption: "figcaption", th: "th", td: "td", "tg-math-block": "pre", ul: "ul", ol: "ol",
  li: "li", blockquote: "blockquote", details: "details", figure: "figure", table: "table",
  tr: "tr", "tg-collage": "div", "tg-slideshow": "div", hr: "hr",
};
const RICH_ATTRIBUTES = new Set(["colspan", "rowspan", "start", "reversed", "open", "value"]);

function richElement(rich) {
  const box = document.createElement("div");
  box.className = "rich";
  box.dir = rich.is_rtl ? "rtl" : "ltr";
  const parsed = new DOMParser().parseFromString(`<body>${rich.html}</body>`, "text/html");
  for (const node of parsed.body.childNodes) appendRich(box, node);
  return box;
}

function appendRich(parent, node) {
  if (node.nodeType === Node.TEXT_NODE) {
    parent.append(node.textContent);
    return;
  }
  if (node.nodeType !== Node.ELEMENT_NODE) return;
  const name = node.tagName.toLowerCase();
  if (name === "img" || name === "video" || name === "audio" || name === "tg-map") {
    parent.append(richMedia(name, node));
    return;
  }
  const tag = RICH_TAGS[name];
  if (!tag) {
    for (const child of node.childNodes) appendRich(parent, child);
    return;
  }
  const element = document.createElement(tag);
  for (const attribute of node.attributes) {
    if (RICH_ATTRIBUTES.has(attribute.name)) element.setAttribute(attribute.name, attribute.value);
  }
  if (name === "a") {
    const href = node.getAttribute("href") || "";
    if (/^(https?:|tg:|mailto:|tel:)/i.test(href)) {
      element.href = href;
      element.target = "_blank";
      element.rel = "noopener";
    }
  } else if (name === "tg-spoiler") {
    element.className = "spoiler";
    element.addEventListener("click", () => element.classList.add("shown"));
  } else if (name === "tg-collage" || name === "tg-slideshow") {
    element.className = "collage";
  }
  for (const child of node.childNodes) appendRich(element, child);
  parent.append(element);
}

function richMedia(name, node) {
  const source = node.getAttribute("src") || "";
  const file = /^tg:\/\/photo\?id=(.+)$/.exec(source);
  if (name === "img" && (file || /^https?:\/\//i.test(source))) {
    return photoElement(file ? `/sandbox/api/file/${encodeURIComponent(file[1])}` : source);
  }
  const missing = document.createElement("div");
  missing.className = "photo-missing";
  missing.textContent = { video: "🎬 ویدیو", audio: "🎧 صدا", "tg-map": "🗺 نقشه" }[name] || "🖼";
  return missing;
}

// Telegram's entities (offsets in UTF-16 units, as JavaScript strings count) as elements.
function formatted(text, entities, key) {
  const sorted = entities
    .filter((entity) => entity.length > 0)
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  const root = document.createDocumentFragment();
  build(root, text, 0, text.length, sorted, key);
  return root;
}

const QUOTES = new Set(["blockquote", "expandable_blockquote"]);
const PLAIN = new Set(["text_link", "url", "code", "pre"]);

// Plain text with its /commands clickable, as Telegram's apps show them; a line break next
// to a quotation is the quotation's own edge (Telegram's apps draw no empty line there).
function plain(parent, text, before, after) {
  let value = text;
  if (before && QUOTES.has(before.type) && value.startsWith("\n")) value = value.slice(1);
  if (after && QUOTES.has(after.type) && value.endsWith("\n")) value = value.slice(0, -1);
  parent.append(PLAIN.has(parent.dataset?.type) ? value : withCommands(value, true));
}

function withCommands(text, clickable) {
  const fragment = document.createDocumentFragment();
  const pattern = /(^|[\s(«])(\/[a-z][a-z0-9_]{0,31}(?:@[a-z0-9_]+)?)(?![\w/])/gi;
  let position = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index + match[1].length;
    fragment.append(text.slice(position, start));
    const command = document.createElement("bdi");
    command.className = "cmd";
    command.textContent = match[2];
    if (clickable) command.addEventListener("click", () => send(match[2]));
    fragment.append(command);
    position = start + match[2].length;
  }
  fragment.append(text.slice(position));
  return fragment;
}

function build(parent, text, from, to, entities, key) {
  let position = from;
  let index = 0;
  let previous = null;
  while (index < entities.length) {
    const entity = entities[index];
    const start = Math.max(entity.offset, position);
    const end = Math.min(entity.offset + entity.length, to);
    if (start > position) plain(parent, text.slice(position, start), previous, entity);
    const inner = [];
    let next = index + 1;
    while (next < entities.length && entities[next].offset < end) inner.push(entities[next++]);
    const element = entityElement(entity, text.slice(start, end), key);
    element.dataset.type = entity.type;
    build(element, text, start, end, inner, key);
    parent.append(element);
    position = Math.max(position, end);
    index = next;
    previous = entity;
  }
  if (position < to) plain(parent, text.slice(position, to), previous, null);
}

function entityElement(entity, content, key) {
  const tags = {
    bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
    blockquote: "blockquote", expandable_blockquote: "blockquote", text_link: "a", url: "a",
  };
  const element = document.createElement(tags[entity.type] || "span");
  if (entity.type === "text_link" || entity.type === "url") {
    element.href = entity.type === "url" ? (/^https?:/i.test(content) ? content : `https://${content}`) : entity.url;
    element.target = "_blank";
    element.rel = "noopener";
  } else if (entity.type === "spoiler") {
    element.className = "spoiler";
    element.addEventListener("click", () => element.classList.add("shown"));
  } else if (entity.type === "expandable_blockquote") {
    const id = `${key}:${entity.offset}`;
    element.className = "expandable" + (view.expanded.has(id) ? "" : " collapsed");
    element.addEventListener("click", () => {
      element.classList.toggle("collapsed");
      if (element.classList.contains("collapsed")) view.expanded.delete(id);
      else view.expanded.add(id);
    });
  } else if (entity.type === "bot_command") {
    element.className = "cmd";
    element.dir = "ltr";
    element.addEventListener("click", () => send(content));
  }
  return element;
}

function keyboard(rows, message) {
  const box = document.createElement("div");
  box.className = "keyboard";
  for (const row of rows) {
    const line = document.createElement("div");
    line.className = "kb-row";
    for (const button of row) line.append(keyButton(button, message));
    box.append(line);
  }
  return box;
}

function keyButton(button, message) {
  if (button.url) {
    const link = document.createElement("a");
    link.className = "kb-button";
    link.href = button.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = `${button.text} ↗`;
    return link;
  }
  const element = document.createElement("button");
  element.type = "button";
  element.className = "kb-button";
  element.textContent = button.text;
  if (button.callback_data !== undefined && message.from === "bot") {
    element.dataset.callback = button.callback_data;
    element.addEventListener("click", () => press(element, message, button.callback_data));
  } else if ("switch_inline_query" in button || "switch_inline_query_current_chat" in button) {
    const query = button.switch_inline_query ?? button.switch_inline_query_current_chat;
    element.textContent = `${button.text} ↪`;
    element.addEventListener("click", () => startInline(query));
  } else if (button.copy_text) {
    element.addEventListener("click", () => {
      navigator.clipboard?.writeText(button.copy_text.text);
      toast("رونوشت شد");
    });
  } else {
    element.disabled = true;
  }
  return element;
}

// ---------------------------------------------------------------- what people do
function openChat(id) {
  view.chat = id;
  localStorage.setItem("khabar.chat", id);
  $("inline-panel").hidden = true;
  view.elements = new Map();
  refresh();
}

async function send(text) {
  const chat = chatOf(view.chat);
  if (!chat || chat.kind === "channel") return;
  view.stick = true;
  try {
    await post("message", { user_id: writerFor(chat), chat_id: chat.id, text });
  } catch (error) {
    toast(error.message);
  }
}

async function press(element, message, data) {
  const chat = chatOf(view.chat);
  element.disabled = true;
  try {
    const answer = await post("press", {
      user_id: writerFor(chat), chat_id: chat.id, message_id: message.message_id, data,
    });
    if (answer.text) toast(answer.text, answer.show_alert);
  } catch (error) {
    toast(error.message);
  } finally {
    element.disabled = false;
  }
}

function inlinePrefix() {
  return `@${view.state ? view.state.bot.username : ""} `;
}

function startInline(query) {
  const text = $("text");
  text.value = inlinePrefix() + (query || "");
  text.focus();
  onTyping();
}

let typingTimer = 0;
function onTyping() {
  const value = $("text").value;
  const prefix = inlinePrefix();
  if (!value.startsWith(prefix.trim())) {
    $("inline-panel").hidden = true;
    return;
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => searchInline(value.slice(prefix.length), ""), 250);
}

async function searchInline(query, offset) {
  const chat = chatOf(view.chat);
  const seq = ++view.inline.seq;
  $("inline-panel").hidden = false;
  $("inline-status").textContent = "در حال جست‌وجو…";
  try {
    const answer = await post("inline", { user_id: writerFor(chat), query, offset });
    if (seq !== view.inline.seq) return; // a newer query was typed meanwhile
    view.inline = { seq, query, offset: answer.next_offset, queryId: answer.query_id };
    const list = $("inline-results");
    const items = answer.results.map((result) => {
      const item = document.createElement("li");
      item.className = "inline-result";
      item.dataset.resultId = result.id;
      item.dataset.queryId = answer.query_id;
      if (result.thumbnail_url) {
        const thumbnail = document.createElement("img");
        thumbnail.className = "thumbnail";
        thumbnail.alt = "";
        thumbnail.src = result.thumbnail_url;
        thumbnail.addEventListener("error", () => thumbnail.remove());
        item.append(thumbnail);
      }
      const title = document.createElement("div");
      title.className = "title";
      title.textContent = result.title;
      const description = document.createElement("div");
      description.className = "description";
      description.textContent = result.description;
      item.append(title, description);
      item.addEventListener("click", () => choose(answer.query_id, result.id));
      return item;
    });
    if (offset) list.append(...items);
    else list.replaceChildren(...items);
    $("inline-status").textContent = list.children.length
      ? (query.trim() ? `نتیجه‌های «${query.trim()}»` : "تازه‌ترین خبرها")
      : "خبری پیدا نشد";
    $("inline-more").hidden = !answer.next_offset;
  } catch (error) {
    if (seq === view.inline.seq) $("inline-status").textContent = error.message;
  }
}

async function choose(queryId, resultId) {
  const chat = chatOf(view.chat);
  view.stick = true;
  try {
    await post("choose", { user_id: writerFor(chat), chat_id: chat.id, query_id: queryId, result_id: resultId });
    $("text").value = "";
    $("inline-panel").hidden = true;
  } catch (error) {
    toast(error.message);
  }
}

let toastTimer = 0;
function toast(text, alert = false) {
  const element = $("toast");
  element.textContent = text;
  element.className = "toast" + (alert ? " alert" : "");
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { element.hidden = true; }, alert ? 6000 : 3000);
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  $("inline-panel").hidden = true;
  send(text);
});
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
$("text").addEventListener("input", onTyping);
$("inline-button").addEventListener("click", () => startInline(""));
$("inline-more").addEventListener("click", () => searchInline(view.inline.query, view.inline.offset));
$("writer").addEventListener("change", (event) => {
  view.writer = Number(event.target.value);
  localStorage.setItem("khabar.writer", view.writer);
});
$("add-reader").addEventListener("click", async () => {
  try {
    const reader = await post("readers", {});
    openChat(reader.id);
  } catch (error) {
    toast(error.message);
  }
});
$("file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  const chat = chatOf(view.chat);
  if (!file || !chat) return;
  const form = new FormData();
  form.append("user_id", writerFor(chat));
  form.append("chat_id", chat.id);
  form.append("file", file);
  event.target.value = "";
  const response = await fetch("/sandbox/api/document", { method: "POST", body: form });
  if (!response.ok) toast((await response.json()).error);
});

pollForever();
