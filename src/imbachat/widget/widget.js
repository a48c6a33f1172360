/* imbachat widget: the ImbaChat JavaScript surface (window.ImbaChat / window.imbaChat,
   window.imbaApi) on top of the WebSocket protocol of docs/protocol.md.
   No build step. User text is only ever set as text, never as HTML. */
(function () {
  "use strict";
  if (window.ImbaChat && window.ImbaChat.__imbachat) { return; }

  var CSS = /*__CSS__*/"";
  // Paths on this server, each with its file's version: the alert sound, and the
  // parts used on demand (more.js, everyday.js), scripts loaded on first use.
  var SOUND = /*__SOUND__*/"";
  var MORE = /*__MORE__*/"";
  var EVERYDAY = /*__EVERYDAY__*/"";
  var EMOJI = /*__EMOJI__*/"";
  var CALLS = /*__CALLS__*/"";
  var script = document.currentScript;
  var found = /^(https?:\/\/[^/]+)((?:\/[^/]*)*?)\/imbachat\/v1\/(\d+)\/widget/.exec(script ? script.src : "");
  var SERVER = found ? found[1] + found[2] : location.origin;
  var IMBA_ID = found ? found[3] : "";
  var WS_BASE = SERVER.replace(/^http/, "ws");
  var ROOM_TYPE = { dialog: 0, conference: 1, support: 3 };
  var TABS = [0, 1, 3];
  var URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

  /* Interface strings: English is built in; every other language is its own small
     file (i18n/<lang>.json), fetched when it is used. The plugins' two labels come
     in every language at once: they are read before the chat loads. */
  var EN = /*__EN__*/{};
  var LABELS = /*__LABELS__*/{};
  var LANGS = ["ar", "en", "es", "fr", "it", "ru"];
  var strings = { en: EN };

  function langOf(wanted) {
    var lang = String(wanted || "").slice(0, 2).toLowerCase();
    return LANGS.indexOf(lang) >= 0 ? lang : null;
  }

  function loadStrings(lang) {
    if (strings[lang]) { return Promise.resolve(strings[lang]); }
    return fetch(SERVER + "/imbachat/widget/i18n/" + lang + ".json").then(function (response) {
      if (!response.ok) { throw new Error("no strings for " + lang); }
      return response.json();
    }).then(function (found) { strings[lang] = found; return found; }, function (error) {
      console.warn("imbachat: " + error.message + "; English it is");
      return EN;
    });
  }

  /* The plugins read interface strings from two globals the hosted script defines:
     imbaChatLangJson (this page's language) and gettext(domain, key). A gettext the
     page already has is left alone. */
  var pageLang = langOf(document.documentElement.lang) || langOf(navigator.language) || "en";
  window.imbaChatLangJson = window.imbaChatLangJson || Object.assign({}, EN, LABELS[pageLang]);
  if (typeof window.gettext !== "function") {
    window.gettext = function (domain, key) { return window.imbaChatLangJson[key] || key; };
  }

  /* A guest's token stays in this site's storage, so the visitor keeps their
     conversation across pages and visits (storage may be off: then per page). */
  var GUEST_KEY = "imbachat.guest." + SERVER + "." + IMBA_ID;
  function storedGuest() { try { return window.localStorage.getItem(GUEST_KEY); } catch (e) { return null; } }
  function storeGuest(token) { try { window.localStorage.setItem(GUEST_KEY, token); } catch (e) { /* per page */ } }
  function forgetGuest() { try { window.localStorage.removeItem(GUEST_KEY); } catch (e) { /* nothing kept */ } }

  /* ---- small helpers --------------------------------------------------------- */

  function h(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === undefined || value === null || value === false) { return; }
      if (key === "text") { node.textContent = value; }
      else if (key === "class") { node.className = value; }
      else if (key.slice(0, 2) === "on") { node.addEventListener(key.slice(2), value); }
      else { node.setAttribute(key, value === true ? "" : value); }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined && child !== false) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  /* Text with http(s) links made clickable; everything else stays text. */
  function richText(text) {
    var fragment = document.createDocumentFragment();
    var last = 0;
    String(text).replace(URL_RE, function (url, at) {
      fragment.appendChild(document.createTextNode(text.slice(last, at)));
      fragment.appendChild(h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow", text: url }));
      last = at + url.length;
      return url;
    });
    fragment.appendChild(document.createTextNode(String(text).slice(last)));
    return fragment;
  }

  function webUrl(url) { return typeof url === "string" && /^https?:\/\//.test(url) ? url : null; }

  function avatar(person, small) {
    var name = (person && person.name) || "?";
    var hue = (Number(person && person.user_id) * 47) % 360;
    var node = h("span", { class: "ic-avatar" + (small ? " ic-avatar-sm" : ""), style: "background:hsl(" + hue + ",45%,38%)", "aria-hidden": "true" },
      [webUrl(person && person.avatar_url) ? h("img", { src: person.avatar_url, alt: "" }) : name.charAt(0).toUpperCase()]);
    if (person && person.online) { node.appendChild(h("span", { class: "ic-dot", title: "online" })); }
    return node;
  }

  function clock(seconds) {
    var d = new Date(Number(seconds) * 1000);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function dayKey(seconds) { var d = new Date(Number(seconds) * 1000); return d.getFullYear() + "-" + d.getMonth() + "-" + d.getDate(); }

  var clientIds = 0;
  function newClientId() { clientIds += 1; return "w" + Date.now().toString(36) + "-" + clientIds + "-" + Math.random().toString(36).slice(2, 8); }

  /* ---- imbaApi: events and inline placement ----------------------------------- */

  var listeners = {};
  var fired = {};
  var imbaApi = {
    on: function (name, callback) {
      (listeners[name] = listeners[name] || []).push(callback);
      if (fired[name]) { try { callback(fired[name].value); } catch (e) { console.error(e); } }
    },
    emit: function (name, value) {
      fired[name] = { value: value };
      imbaApi.notify(name, value);
    },
    // Like emit, for moments rather than states: late listeners are not called.
    notify: function (name, value) {
      (listeners[name] || []).forEach(function (cb) { try { cb(value); } catch (e) { console.error(e); } });
    },
    placeHolder: function (elementId, title) { return chat.mountInline(elementId, title); }
  };

  /* ---- the chat --------------------------------------------------------------- */

  function Chat() {
    this.params = null;
    this.rooms = {};
    this.me = null;
    this.tab = 0;
    this.current = null;
    this.panelOpen = false;
    this.pending = {};        // client_id -> {room_id, text, answer_to, failed}
    this.waiting = [];        // room requests (open_dialog, join_room…) awaiting "opened"
    this.backoff = 500;
    this.stopped = false;
    this.readySeen = false;
    this.reply = null;
    this.editing = null;
    this.lastTyping = 0;
    this.uploads = [];        // files picked in a room's composer: uploading, uploaded or refused
    this.files = { max_bytes: 0 };   // what the server takes (ready.files)
    this.alerts = { email: "all", sound: true };   // the user's e-mail choice, the owner's sound switch (ready.alerts)
    this.prefs = {};          // this browser's choices (sound, desktop, asked), kept in localStorage
  }

  /* A string of the chat's language; ``count`` picks the plural form (Intl). */
  Chat.prototype.t = function (key, count) {
    var value = (this.strings && this.strings[key]) || EN[key] || key;
    if (typeof value === "object") {
      var form = this.plurals ? this.plurals.select(count) : "other";
      value = value[form] || value.other;
    }
    return count === undefined ? value : value.replace("{n}", this.numbers ? this.numbers.format(count) : String(count));
  };

  /* The chat's language: load()'s ``lang``, else the page's <html lang>, else the
     browser's; its strings, plural rules, number and date formats, direction. */
  Chat.prototype.useLanguage = function (strings) {
    this.strings = strings;
    this.plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(this.lang) : null;
    this.numbers = window.Intl ? new Intl.NumberFormat(this.lang) : null;
    this.times = window.Intl ? new Intl.DateTimeFormat(this.lang, { hour: "2-digit", minute: "2-digit" }) : null;
    this.days = window.Intl ? new Intl.DateTimeFormat(this.lang, { day: "numeric", month: "long", year: "numeric" }) : null;
    this.relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(this.lang, { numeric: "auto" }) : null;
    this.dir = this.lang === "ar" ? "rtl" : "ltr";
    if (window.imbaChatLangJson && this.lang === pageLang) { Object.assign(window.imbaChatLangJson, strings); }
  };

  /* load(params): params.token (or user_key, the integration guide's name) signs in
     the site's user; without one the visitor chats as a guest. Mounts inline in
     params.container, or in the plugins' <div id="imbachat_holder"
     data-imbachat_chat_ph="1">, or floats. */
  Chat.prototype.load = function (params) {
    var self = this;
    if (this.loading) { return this.loading; }
    this.params = params && typeof params === "object" ? params : {};
    if (!this.params.token && this.params.user_key) { this.params.token = this.params.user_key; }
    this.loading = new Promise(function (resolve, reject) {
      self.resolveLoad = resolve;
      self.rejectLoad = function (error) {
        self.waiting.splice(0).forEach(function (w) { w.reject(error); });
        reject(error);
      };
    });
    var holder = document.getElementById("imbachat_holder");
    if (!this.params.container && holder && holder.hasAttribute("data-imbachat_chat_ph")) { this.params.container = holder; }
    this.lang = langOf(this.params.lang) || pageLang;
    loadStrings(this.lang).then(function (found) {
      self.useLanguage(found);
      self.start();
    });
    return this.loading;
  };

  Chat.prototype.start = function () {
    var self = this;
    this.build(this.params.container);
    // The page's own title goes back as it was when the page is left (history lists it).
    window.addEventListener("pagehide", function () { self.renderTitle(true); });
    window.addEventListener("pageshow", function () { self.renderTitle(); });
    if (this.params.token) {
      this.adoptGuest = storedGuest();   // this browser was a guest: hand its chat over
      this.connect();
    } else {
      this.guest = true;
      this.tab = 3;
      this.startGuest(false).then(this.connect.bind(this), this.fail.bind(this));
    }
  };

  Chat.prototype.fail = function (error) {
    this.stopped = true;
    if (this.el) { this.toast(error.message); }
    if (!this.readySeen) { this.rejectLoad(error); }
  };

  /* A guest's token: the one kept from before, renewed (renew: the server refused
     it), or a new guest's. */
  Chat.prototype.startGuest = function (renew) {
    var self = this;
    var kept = storedGuest();
    if (kept && !renew) { this.params.token = kept; return Promise.resolve(); }
    var body = new URLSearchParams();
    if (kept) { body.set("token", kept); }
    body.set("page", String(location.href).slice(0, 2000));
    return fetch(SERVER + "/imbachat/v1/" + IMBA_ID + "/guests", { method: "POST", body: body }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) {
          if (kept && response.status === 401) { forgetGuest(); return self.startGuest(false); }
          throw new Error("imbachat: " + answer.message);
        }
        storeGuest(answer.data.token);
        self.params.token = answer.data.token;
      });
    });
  };

  /* -- DOM ---------------------------------------------------------------------- */

  Chat.prototype.build = function (container) {
    var self = this;
    var target = typeof container === "string" ? document.getElementById(container) : container;
    this.inline = !!target;
    this.host = h("div", { "data-imbachat": "" });
    (target || document.body).appendChild(this.host);
    var root = this.host.attachShadow({ mode: "open" });
    root.appendChild(h("style", { text: CSS }));
    partsCss.forEach(function (css) { root.appendChild(h("style", { text: css })); });
    var side = this.params.position === "left" ? "ic-start" : "ic-end";
    this.el = {};
    var el = this.el;
    el.badge = h("span", { class: "ic-badge ic-hidden", "aria-hidden": "true" });
    el.launcher = h("button", { class: "ic-launcher", type: "button", "aria-label": this.t("openChat"), "aria-expanded": "false",
      onclick: this.toggle.bind(this) }, [svgIcon("M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"), el.badge]);
    el.status = h("span", { class: "ic-head-sub" });
    el.title = h("span", { class: "ic-head-title" }, [this.params.title || this.t("chat"), el.status]);
    el.back = h("button", { class: "ic-icon-btn ic-back ic-hidden", type: "button", "aria-label": this.t("back"), text: "‹", onclick: this.back.bind(this) });
    el.close = h("button", { class: "ic-icon-btn", type: "button", "aria-label": this.t("close"), text: "×", onclick: this.close.bind(this) });
    el.bell = h("button", { class: "ic-icon-btn ic-bell ic-hidden", type: "button", "aria-label": this.t("mute"), "aria-pressed": "false",
      onclick: this.toggleMute.bind(this) }, [svgIcon(BELL)]);
    el.call = h("button", { class: "ic-icon-btn ic-call-btn ic-hidden", type: "button", "aria-label": this.t("call"), text: "☎", onclick: function () { self.startCall(el.call); } });
    el.gear = h("button", { class: "ic-icon-btn ic-gear", type: "button", "aria-label": this.t("settings"), onclick: this.openSettings.bind(this) }, [svgIcon(GEAR)]);
    // The list's search of messages; a room's menu (search in it, block, reports): everyday.js
    el.search = h("button", { class: "ic-icon-btn ic-search", type: "button", "aria-label": this.t("search"), onclick: function () { self.openSearch(); } },
      [svgIcon("M10.5 4a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13zM15.5 15.5L21 21")]);
    el.menu = h("button", { class: "ic-icon-btn ic-menu", type: "button", "aria-label": this.t("menu"), "aria-haspopup": "menu", text: "⋮",
      onclick: function () { self.roomMenu(el.menu); } });
    // A conference's pinned message, above its messages: a click shows it in place.
    el.pin = h("button", { class: "ic-pin ic-hidden", type: "button", onclick: function () {
      var room = self.rooms[self.current];
      if (room && room.pinned) { self.jumpTo(room.id, room.pinned.seq); }
    } });
    el.offline = h("div", { class: "ic-offline ic-hidden", role: "status", text: this.t("connecting") });
    el.tabs = h("div", { class: "ic-tabs", role: "tablist", "aria-label": this.t("roomTabs") });
    el.tools = h("div", { class: "ic-tools" });
    this.toolsTab = null;
    el.rooms = h("ul", { class: "ic-rooms", "aria-label": this.t("rooms") });
    el.list = h("section", { class: "ic-conv" }, [el.tabs, el.tools, el.rooms]);
    // A log: screen readers announce new messages, politely.
    el.messages = h("div", { class: "ic-messages", role: "log", "aria-live": "polite", "aria-label": this.t("messages"),
      tabindex: "0", onscroll: this.onScroll.bind(this), onkeydown: this.onLogKey.bind(this) });
    el.typing = h("div", { class: "ic-typing", "aria-live": "polite" });
    el.barText = h("span");
    el.bar = h("div", { class: "ic-bar ic-hidden" }, [el.barText, h("button", { class: "ic-icon-btn", type: "button", text: "×", "aria-label": this.t("cancel"), onclick: this.clearBar.bind(this) })]);
    el.input = h("textarea", { rows: "1", placeholder: this.t("write"), "aria-label": this.t("write"), onkeydown: this.onKey.bind(this), oninput: this.onInput.bind(this),
      onpaste: this.onPaste.bind(this) });
    el.send = h("button", { class: "ic-btn", type: "submit", text: this.t("send") });
    el.smile = h("button", { class: "ic-icon-btn ic-smile", type: "button", "aria-label": this.t("emoji"), "aria-expanded": "false",
      onclick: function () { self.pickEmoji(el.smile, el.input); } }, [svgIcon("M3 12a9 9 0 1 0 18 0a9 9 0 1 0-18 0M8 14a4.5 4.5 0 0 0 8 0M9 9h0M15 9h0")]);
    // Files: the attach button opens the hidden picker; a drop on the conversation or
    // a paste of images into the field does the same.
    el.file = h("input", { type: "file", multiple: true, class: "ic-hidden",
      onchange: function () { self.addFiles(el.file.files); el.file.value = ""; } });
    el.attach = h("button", { class: "ic-icon-btn ic-attach ic-hidden", type: "button", "aria-label": this.t("attach"), title: this.t("attach"),
      onclick: function () { el.file.click(); } }, [svgIcon("M20.5 11.5l-8.4 8.4a5 5 0 0 1-7.1-7.1l8.4-8.4a3.3 3.3 0 0 1 4.7 4.7l-8.4 8.4a1.7 1.7 0 0 1-2.4-2.4l7.7-7.7")]);
    el.tray = h("div", { class: "ic-tray ic-hidden" });
    el.composer = h("form", { class: "ic-composer", onsubmit: this.onSubmit.bind(this) }, [el.attach, el.file, el.input, el.smile, el.send]);
    el.readOnly = h("p", { class: "ic-readonly ic-hidden", text: this.t("readOnly") });
    el.blockedNote = h("p", { class: "ic-readonly ic-hidden" }, [this.t("youBlocked") + " ", h("button", { class: "ic-link", type: "button", text: this.t("unblock"),
      onclick: function () { self.send({ type: "unblock_user", user_id: self.other(self.rooms[self.current]).user_id }); } })]);
    var drag = this.onDrag.bind(this);
    el.conv = h("section", { class: "ic-conv ic-hidden", "data-drop": this.t("dropHere"), ondragover: drag, ondragleave: drag, ondrop: drag },
      [el.pin, el.messages, el.typing, el.bar, el.tray, el.composer, el.readOnly, el.blockedNote]);
    el.form = h("section", { class: "ic-form ic-hidden" });
    el.settings = h("section", { class: "ic-settings ic-hidden", "aria-label": this.t("settings") });
    el.toast = h("div", { class: "ic-toast ic-hidden", role: "alert" });
    el.panel = h("div", { class: "ic-panel" + (this.inline ? "" : " ic-hidden"), role: this.inline ? "region" : "dialog", "aria-label": this.t("chatPanel") }, [
      h("header", { class: "ic-head" }, [el.back, el.title, el.call, el.bell, el.search, el.menu, el.gear, this.inline ? null : el.close]), el.offline, el.list, el.conv, el.form,
      el.settings, el.toast]);
    el.root = h("div", { class: "ic " + (this.inline ? "ic-inline" : "ic-float " + side), dir: this.dir, lang: this.lang,
      "data-theme": this.theme(), onkeydown: this.onRootKey.bind(this) }, [el.panel, this.inline ? null : el.launcher]);
    var offset = Number(this.params.offset);
    if (offset > 0) { el.root.style.setProperty("--ic-offset", offset + "px"); }   // above the page's own bottom bar
    this.paint();
    root.appendChild(el.root);
    if (this.inline) { this.host.style.display = "block"; this.host.style.height = "100%"; this.panelOpen = true; }
    if (this.params.open) { this.open(); }
    document.addEventListener("visibilitychange", this.markRead.bind(this));
    window.addEventListener("popstate", this.onHistory.bind(this));
    this.followViewport();
  };

  /* Light, dark, or the page's preference (auto): load()'s theme (a site with its own
     dark-mode switch passes its state), else the owner's setting. */
  Chat.prototype.theme = function () {
    var themes = ["light", "dark", "auto"];
    if (themes.indexOf(this.params.theme) >= 0) { return this.params.theme; }
    var owners = this.appearance && this.appearance.theme;
    return themes.indexOf(owners) >= 0 ? owners : "auto";
  };

  /* WCAG's relative luminance of #rrggbb, and the contrast of two colours. */
  function luminance(hex) {
    var rgb = [1, 3, 5].map(function (at) {
      var c = parseInt(hex.slice(at, at + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  }
  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  /* The owner's accent colour: text on it in black or white, whichever reads; and as
     a text colour (links, names, the chosen tab) only where it reads on the light or
     dark background, else the plain text colour there. */
  Chat.prototype.paint = function () {
    var root = this.el && this.el.root;
    if (!root) { return; }
    root.setAttribute("data-theme", this.theme());
    var accent = this.appearance && /^#[0-9a-f]{6}$/i.test(this.appearance.accent_color || "") ? this.appearance.accent_color : null;
    if (!accent) { return; }
    root.style.setProperty("--ic-accent", accent);
    root.style.setProperty("--ic-on-accent", contrast(accent, "#000000") > contrast(accent, "#ffffff") ? "#000" : "#fff");
    root.style.setProperty("--ic-ink-light", contrast(accent, "#f2f4f8") >= 4.5 ? accent : "#1d2330");
    root.style.setProperty("--ic-ink-dark", contrast(accent, "#232937") >= 4.5 ? accent : "#e6e9ef");
  };

  /* Phones: the open chat is as tall as what is visible (the on-screen keyboard
     shrinks the visual viewport), so the composer stays above the keyboard. */
  Chat.prototype.followViewport = function () {
    var viewport = window.visualViewport;
    var root = this.el.root;
    if (!viewport || this.inline) { return; }
    var box = this.el.messages;
    var fit = function () {
      var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
      root.style.setProperty("--ic-vh", viewport.height + "px");
      root.style.setProperty("--ic-top", viewport.offsetTop + "px");
      if (atBottom) { box.scrollTop = box.scrollHeight; }   // the latest stays in sight as the keyboard opens
    };
    viewport.addEventListener("resize", fit);
    viewport.addEventListener("scroll", fit);
    fit();
  };

  /* A phone, upright or on its side (the same query as the stylesheet's). */
  var PHONE = "(max-width: 600px), (max-height: 500px)";
  Chat.prototype.small = function () { return !this.inline && !!window.matchMedia && window.matchMedia(PHONE).matches; };

  Chat.prototype.onRootKey = function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) { return; }
    if (this.settingsOpen) { event.preventDefault(); this.closeSettings(); return; }
    if (this.reply || this.editing) { this.clearBar(); return; }
    if (!this.inline && this.panelOpen) { event.preventDefault(); this.close(); }
  };

  /* Back one level: the settings to where they were opened; a room, or the
     new-conference form, back to the list. */
  Chat.prototype.back = function () { if (this.settingsOpen) { this.closeSettings(); } else { this.showList(); } };

  /* The messages are one tab stop: the arrows move between them (Home, End: the
     first and the last), and Tab from a message reaches its actions. */
  Chat.prototype.onLogKey = function (event) {
    var moves = { ArrowUp: -1, ArrowDown: 1, Home: "first", End: "last" };
    var move = moves[event.key];
    var box = this.el.messages;
    if (move === undefined || (event.target !== box && !event.target.classList.contains("ic-msg"))) { return; }
    var messages = Array.prototype.slice.call(box.querySelectorAll(".ic-msg[tabindex]"));
    if (!messages.length) { return; }
    var at = messages.indexOf(event.target);
    var next = move === "first" ? 0 : move === "last" || at < 0 ? messages.length - 1 : Math.max(0, Math.min(messages.length - 1, at + move));
    event.preventDefault();
    messages[next].focus();
  };

  var BELL = "M6 16v-5a6 6 0 0 1 12 0v5l2 2H4zM10 21h4";
  var BELL_OFF = BELL + "M3 3l18 18";
  // A gear: a ring with eight teeth round a hub.
  var GEAR = "M12 5.5a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13zM12 9.5a2.5 2.5 0 1 0 0 5a2.5 2.5 0 1 0 0-5zM12 2v3.5M12 18.5V22M2 12h3.5M18.5 12H22" +
    "M4.9 4.9l2.5 2.5M16.6 16.6l2.5 2.5M4.9 19.1l2.5-2.5M16.6 7.4l2.5-2.5";

  function svgIcon(d) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }

  /* Opening on a phone takes the screen: the page behind stops scrolling, and the
     browser's back gesture closes the chat (or leaves the room) through history
     entries of our own. Focus moves into the chat, and back to the launcher. */
  Chat.prototype.open = function () {
    if (!this.el) { return; }
    var opening = !this.panelOpen;
    this.panelOpen = true;
    this.el.panel.classList.remove("ic-hidden");
    this.el.root.classList.add("ic-open");
    this.el.launcher.setAttribute("aria-expanded", "true");
    if (opening && this.small()) {
      this.lockPage(true);
      history.pushState({ imbachat: "open" }, "");
      this.historyDepth = 1;
    }
    this.render();
    this.markRead();
    if (opening && !this.inline) { this.focusInside(); }
  };

  Chat.prototype.close = function (fromHistory) {
    if (this.inline || !this.el || !this.panelOpen) { return; }
    if (this.viewer) { this.closeViewer(); }
    if (fromHistory !== true && this.historyDepth) { history.go(-this.historyDepth); return; }   // popstate closes
    this.historyDepth = 0;
    this.panelOpen = false;
    this.settingsOpen = this.settingsPushed = false;
    this.el.panel.classList.add("ic-hidden");
    this.el.root.classList.remove("ic-open");
    this.el.launcher.setAttribute("aria-expanded", "false");
    if (this.pageLock) { this.lockPage(false); }
    this.el.launcher.focus();
  };

  Chat.prototype.onHistory = function (event) {
    var state = event.state && event.state.imbachat;
    if (!this.historyDepth) { return; }
    if (this.settingsOpen && this.settingsPushed) {   // the settings close, back where they were opened
      this.historyDepth -= 1;
      this.closeSettings(true);
      if (state === (this.historyDepth === 1 ? "open" : "room")) { return; }
    }
    if (state === "open") {
      this.historyDepth = 1;
      this.showList(true);
    } else {
      this.close(true);
    }
  };

  Chat.prototype.focusInside = function () {
    var el = this.el;
    var target = this.current ? el.input : el.tabs.querySelector('[aria-selected="true"]') || el.close;
    if (target && target.focus) { target.focus(); }
  };
  Chat.prototype.toggle = function () { if (this.panelOpen) { this.close(); } else { this.open(); } };

  Chat.prototype.toast = function (text) {
    var el = this.el.toast;
    el.textContent = text;
    el.classList.remove("ic-hidden");
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(function () { el.classList.add("ic-hidden"); }, 3500);
  };

  /* -- connection ------------------------------------------------------------------ */

  Chat.prototype.connect = function () {
    var self = this;
    if (this.stopped) { return; }
    var positions = [];
    Object.keys(this.rooms).forEach(function (id) {
      var room = self.rooms[id];
      // Every room whose messages are on screen resumes, an empty one from 0.
      if (room.loaded) { positions.push(id + ":" + (room.hasNewer ? room.last_seq : room.messages.length ? room.messages[room.messages.length - 1].seq : 0)); }
    });
    var url = WS_BASE + "/imbachat/v1/" + IMBA_ID + "/ws?token=" + encodeURIComponent(this.params.token) +
      (this.adoptGuest ? "&guest=" + encodeURIComponent(this.adoptGuest) : "") +
      (positions.length ? "&resume=" + positions.join(",") : "");
    var ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      var handler = self["on_" + frame.type];
      if (handler) { handler.call(self, frame); }
    };
    ws.onclose = function (event) {
      if (self.ws !== ws) { return; }
      self.online(false);
      clearInterval(self.pinger);
      if (self.guest && (event.code === 4001 || event.code === 4003) && !self.guestRenewed) {
        self.guestRenewed = true;   // once: a token the server refuses again is a new guest's
        self.startGuest(true).then(self.connect.bind(self), self.fail.bind(self));
        return;
      }
      if (event.code === 4003) { self.renewToken(); return; }
      if (event.code === 4001 || event.code === 4004) {
        self.stopped = true;
        self.toast(self.t("expired"));
        if (!self.readySeen) { self.rejectLoad(new Error("imbachat: " + (event.reason || event.code))); }
        return;
      }
      var wait = self.backoff * (0.75 + Math.random() / 2);
      self.backoff = Math.min(self.backoff * 2, 15000);
      setTimeout(self.connect.bind(self), wait);
    };
  };

  Chat.prototype.setToken = function (token) {
    this.params.token = token;
    if (this.stopped) { this.stopped = false; this.backoff = 500; this.connect(); }
  };

  Chat.prototype.send = function (frame) {
    if (this.ws && this.ws.readyState === 1) { this.ws.send(JSON.stringify(frame)); return true; }
    return false;
  };

  Chat.prototype.online = function (yes) {
    if (!this.el) { return; }
    this.el.offline.classList.toggle("ic-hidden", yes);
  };

  /* -- frames from the server --------------------------------------------------- */

  Chat.prototype.on_ready = function (frame) {
    var self = this;
    this.me = frame.user;
    this.guestWrites = !!(frame.guest && frame.guest.write_public);
    this.appearance = frame.appearance || null;
    this.files = frame.files || { max_bytes: 0 };
    this.alerts = frame.alerts || this.alerts;
    this.blocked = frame.blocked || [];
    this.pref();
    this.paint();
    if (this.adoptGuest) { forgetGuest(); this.adoptGuest = null; }
    this.backoff = 500;
    this.online(true);
    var known = this.rooms;
    this.rooms = {};
    frame.rooms.forEach(function (item) { self.upsertRoom(item, known[item.id]); });
    clearInterval(this.pinger);
    this.pinger = setInterval(function () { self.send({ type: "ping" }); }, 25000);
    Object.keys(this.pending).forEach(function (clientId) {   // idempotent by client_id
      var p = self.pending[clientId];
      if (!p.failed) { self.send(sendFrame(p, clientId)); }
    });
    if (this.current && this.rooms[this.current] && !this.rooms[this.current].loaded) { this.requestHistory(this.current); }
    this.render();
    if (!this.readySeen) {
      this.readySeen = true;
      if (typeof this.params.onInitSuccess === "function") { try { this.params.onInitSuccess(api); } catch (e) { console.error(e); } }
      this.resolveLoad(api);
      imbaApi.emit("imbaChat.loaded", api);
      this.waiting.forEach(function (w) { self.send(w.frame); });
    }
    this.markRead();
  };

  Chat.prototype.upsertRoom = function (item, previous) {
    var room = previous || { messages: [], loaded: false, hasMore: true, typing: {} };
    ["id", "pipe", "name", "type", "is_public", "role", "muted", "count_users", "last_seq", "last_read_seq", "last_message", "members", "mentions", "pinned"].forEach(function (key) {
      if (key in item) { room[key] = item[key]; }
    });
    if (previous && previous.last_read_seq > room.last_read_seq) { room.last_read_seq = previous.last_read_seq; }
    this.rooms[room.id] = room;
    return room;
  };

  Chat.prototype.on_message = function (frame) {
    var room = this.rooms[frame.room_id];
    var m = frame.message;
    var fresh = room && m.seq > (room.last_seq || 0) && !(this.me && m.user_id === this.me.user_id);
    if (fresh && this.mentionsMe(m)) { room.mentions = (room.mentions || 0) + 1; }
    this.addMessage(frame.room_id, m);
    if (fresh) { this.alert(room, m); }
  };

  // A message naming the user (send's mentions): highlighted, counted (the "@" badge),
  // and alerted even in a muted room.
  Chat.prototype.mentionsMe = function (m) { return !!this.me && (m.mentions || []).indexOf(this.me.user_id) >= 0; };

  /* Someone reacted, or took a reaction back: the message's reactions as they are now. */
  Chat.prototype.on_reaction = function (frame) {
    var room = this.rooms[frame.room_id];
    if (!room) { return; }
    room.messages.concat(room.last_message || [], room.pinned || []).forEach(function (m) { if (m.id === frame.message_id) { m.reactions = frame.reactions; } });
    this.render();
  };

  /* The user blocked or unblocked someone (here or in another tab): their dialog says so. */
  Chat.prototype.on_blocked = function (frame) {
    var list = this.blocked = this.blocked.filter(function (id) { return id !== frame.user_id; });
    var unblocking = this.el.blockedNote.contains(this.host.shadowRoot.activeElement);
    if (frame.blocked) { list.push(frame.user_id); }
    this.render();
    if (unblocking) { this.el.input.focus(); }   // the notice's button went: the composer is back
  };

  Chat.prototype.on_ack = function (frame) {
    delete this.pending[frame.client_id];
    this.addMessage(frame.message.room_id, frame.message);
    // After the user's first message: the offer to notify them of answers.
    if (this.desktop() === "default" && !this.pref("asked")) { this.offerDesktop(); }
  };

  /* The user's e-mail choice, or a room's alerts muted or not, changed (in this tab
     or another of theirs). */
  Chat.prototype.on_alerts = function (frame) {
    var room = this.rooms[frame.room_id];
    if (frame.email) { this.alerts.email = frame.email; }
    if (room && "muted" in frame) { room.muted = !!frame.muted; }
    this.render();
  };

  Chat.prototype.addMessage = function (roomId, message) {
    var room = this.rooms[roomId];
    if (!room) { return; }
    var list = room.messages;
    if (room.loaded && !room.hasNewer && !list.some(function (m) { return m.id === message.id; })) {
      var at = list.length;
      while (at > 0 && list[at - 1].seq > message.seq) { at -= 1; }
      list.splice(at, 0, message);
    }
    if (message.seq >= (room.last_seq || 0)) { room.last_seq = message.seq; room.last_message = message; }
    if (this.me && message.user_id === this.me.user_id) { room.last_read_seq = Math.max(room.last_read_seq || 0, message.seq); }
    delete room.typing[message.user_id];
    this.render();
    this.markRead();
  };

  Chat.prototype.on_history = function (frame) {
    var room = this.rooms[frame.room_id];
    if (!room) { return; }
    if (frame.around_seq) { this.onAround(room, frame); return; }   // a jump to a message (everyday.js)
    var box = this.el.messages;
    var fromBottom = box.scrollHeight - box.scrollTop;
    var seen = {};
    var fresh = {};
    var oldest = room.messages.length ? room.messages[0].seq : Infinity;
    room.messages.forEach(function (m) { seen[m.id] = true; });
    frame.messages.forEach(function (m) { fresh[m.id] = m; });
    // Known messages are replaced (fresh file links); older ones go first.
    room.messages = frame.messages.filter(function (m) { return !seen[m.id]; }).concat(room.messages.map(function (m) { return fresh[m.id] || m; }));
    if (!frame.messages.length || frame.messages[0].seq <= oldest) { room.hasMore = frame.has_more; }
    var first = !room.loaded;
    room.loaded = true;
    room.loadingHistory = false;
    this.render();
    if (this.current === room.id) { box.scrollTop = first ? box.scrollHeight : box.scrollHeight - fromBottom; }
  };

  Chat.prototype.on_resumed = function () { this.render(); };

  Chat.prototype.on_message_edited = function (frame) { this.replaceMessage(frame.room_id, frame.message); };

  Chat.prototype.on_message_deleted = function (frame) {
    var room = this.rooms[frame.room_id];
    if (!room) { return; }
    room.messages.concat(room.last_message || [], room.pinned || []).forEach(function (m) {
      if (m.id === frame.message_id) { m.deleted_at = "deleted"; m.message = ""; m.attachments = m.reactions = m.mentions = []; }
    });
    this.render();
  };

  // A user was erased on request: their messages in these rooms show as deleted,
  // and they are no longer among the members.
  Chat.prototype.on_user_erased = function (frame) {
    var self = this;
    (frame.room_ids || []).forEach(function (id) {
      var room = self.rooms[id];
      if (!room) { return; }
      room.messages.concat(room.last_message || [], room.pinned || []).forEach(function (m) {
        if (m.author_id === frame.member_id) { m.deleted_at = "deleted"; m.message = ""; m.attachments = m.reactions = m.mentions = []; }
      });
      if (room.members) {
        var before = room.members.length;
        room.members = room.members.filter(function (m) { return m.user_id !== frame.user_id; });
        room.count_users = Math.max(0, (room.count_users || 0) - (before - room.members.length));
      }
    });
    this.render();
  };

  Chat.prototype.replaceMessage = function (roomId, message) {
    var room = this.rooms[roomId];
    if (!room) { return; }
    room.messages = room.messages.map(function (m) { return m.id === message.id ? message : m; });
    if (room.last_message && room.last_message.id === message.id) { room.last_message = message; }
    if (room.pinned && room.pinned.id === message.id) { room.pinned = message; }
    this.render();
  };

  Chat.prototype.on_typing = function (frame) {
    var room = this.rooms[frame.room_id];
    if (!room) { return; }
    room.typing[frame.user_id] = Date.now();
    var self = this;
    this.renderTyping();
    setTimeout(function () { self.renderTyping(); }, 4100);
  };

  Chat.prototype.on_read = function (frame) {
    var room = this.rooms[frame.room_id];
    if (!room) { return; }
    if (this.me && frame.user_id === this.me.user_id) {
      room.last_read_seq = Math.max(room.last_read_seq || 0, frame.seq);
      if (room.last_read_seq >= (room.last_seq || 0)) { room.mentions = 0; }
    }
    (room.members || []).forEach(function (m) { if (m.user_id === frame.user_id) { m.last_read_seq = Math.max(m.last_read_seq || 0, frame.seq); } });
    this.render();
  };

  Chat.prototype.on_presence = function (frame) {
    var self = this;
    Object.keys(this.rooms).forEach(function (id) {
      (self.rooms[id].members || []).forEach(function (m) { if (m.user_id === frame.user_id) { m.online = frame.online; } });
    });
    this.render();
  };

  Chat.prototype.on_room = function (frame) {
    var self = this;
    if (frame.action === "member_added") {
      var room = this.rooms[frame.room_id];
      if (room && room.members) { frame.users.forEach(function (u) { room.members.push(u); }); room.count_users = (room.count_users || 0) + frame.users.length; }
    } else if (frame.action === "pinned") {   // a conference's pinned message, or none
      if (this.rooms[frame.room_id]) { this.rooms[frame.room_id].pinned = frame.message; }
    } else if (frame.action === "member_role") {
      var inRoom = this.rooms[frame.room_id];
      if (inRoom) {
        (inRoom.members || []).forEach(function (m) { if (m.user_id === frame.user_id) { m.role = frame.role; } });
        if (this.me && frame.user_id === this.me.user_id) { inRoom.role = frame.role; }
      }
    } else if (frame.room) {
      this.upsertRoom(frame.room, this.rooms[frame.room.id]);
      if (frame.action === "opened") {
        var waiter = this.waiting.shift();
        this.open();
        this.showRoom(frame.room.id);
        if (waiter) { waiter.resolve(frame.room.id); }
      }
    }
    this.render();
    void self;
  };

  Chat.prototype.on_error = function (frame) {
    if (frame.ref && this.pending[frame.ref]) {
      this.pending[frame.ref].failed = true;
      this.pending[frame.ref].error = frame.message;   // shown with the message: why it was refused
      this.render();
    }
    if (["open_dialog", "join_room", "create_room", "open_support"].indexOf(frame.ref) >= 0) {
      var waiter = this.waiting.shift();
      if (waiter) { waiter.reject(new Error(frame.message)); }
    }
    if (frame.ref === "alerts") { this.render(); }   // the settings show what the server keeps
    if (frame.ref !== "typing") { this.toast(frame.message); }
  };

  /* -- actions ------------------------------------------------------------------- */

  /* A room request (open_dialog, join_room…): settles when its room opens (with the
     room id) or is refused (an Error saying why), and within 30 s in any case. */
  Chat.prototype.request = function (frame) {
    var self = this;
    if (this.stopped) { return Promise.reject(new Error("imbachat: " + this.t("expired"))); }
    return new Promise(function (resolve, reject) {
      var waiter = { frame: frame };
      var timer = setTimeout(function () {
        var at = self.waiting.indexOf(waiter);
        if (at >= 0) { self.waiting.splice(at, 1); }
        reject(new Error("imbachat: " + self.t(self.params ? "timeout" : "notLoaded")));
      }, 30000);
      waiter.resolve = function (value) { clearTimeout(timer); resolve(value); };
      waiter.reject = function (error) { clearTimeout(timer); reject(error); };
      self.waiting.push(waiter);
      if (self.readySeen) { self.send(frame); }
    });
  };

  /* openDialog(userId[, _, token]): the WordPress plugin passes a token it signed
     for the dialog; it is checked when given, never needed. */
  Chat.prototype.openDialog = function (userId, _unused, token) {
    var id = parseInt(userId, 10);
    if (!(id > 0)) { return Promise.reject(new Error("imbachat: openDialog needs a user id")); }
    var frame = { type: "open_dialog", user_id: id };
    if (typeof token === "string" && token) { frame.token = token; }
    return this.request(frame);
  };

  Chat.prototype.openSupport = function (name, email) {
    var frame = { type: "open_support" };
    if (name) { frame.name = name; }
    if (email) { frame.email = email; }
    return this.request(frame);
  };

  Chat.prototype.addToRoom = function (options) {
    var o = options || {};
    var type = typeof o.type === "string" ? ROOM_TYPE[o.type] : o.type;
    return this.request({ type: "join_room", pipe: String(o.pipe || ""), title: o.title || undefined,
      is_public: o.is_public ? 1 : 0, room_type: type === undefined ? 1 : type,
      users_ids: (o.users_ids || []).map(function (u) { return typeof u === "object" ? u.user_id : u; }) });
  };

  Chat.prototype.showRoom = function (roomId) {
    var room = this.rooms[roomId];
    if (!room) { return; }
    if (this.historyDepth === 1) { history.pushState({ imbachat: "room" }, ""); this.historyDepth = 2; }
    this.current = room.id;
    this.tab = room.type;
    this.settingsOpen = this.settingsPushed = false;
    this.clearBar();
    if (!room.loaded) { this.requestHistory(room.id); }
    this.render();
    var box = this.el.messages;
    box.scrollTop = box.scrollHeight;
    this.markRead();
    // A phone would raise its keyboard for a focused field: there, focus the messages.
    (this.small() ? box : this.el.input).focus({ preventScroll: true });
  };

  Chat.prototype.showList = function (fromHistory) {
    if (fromHistory !== true && this.historyDepth === 2) { history.back(); return; }   // popstate shows the list
    this.current = null;
    if (this.viewer) { this.closeViewer(); }
    this.el.form.classList.add("ic-hidden");
    this.formOpen = this.settingsOpen = this.settingsPushed = false;
    this.render();
    this.focusInside();
  };

  Chat.prototype.requestHistory = function (roomId) {
    var room = this.rooms[roomId];
    if (!room || room.loadingHistory) { return; }
    room.loadingHistory = true;
    var frame = { type: "history", room_id: room.id, limit: 30 };
    if (room.loaded && room.messages.length) { frame.before_seq = room.messages[0].seq; }
    if (!this.send(frame)) { room.loadingHistory = false; }
  };

  Chat.prototype.onScroll = function () {
    var room = this.rooms[this.current];
    var box = this.el.messages;
    if (room && room.loaded && room.hasMore && box.scrollTop < 60) { this.requestHistory(room.id); }
    if (room && room.hasNewer && box.scrollHeight - box.scrollTop - box.clientHeight < 60) { this.loadNewer(room); }
  };

  Chat.prototype.markRead = function () {
    var room = this.rooms[this.current];
    if (!room || !this.panelOpen || document.visibilityState === "hidden") { return; }
    if ((room.last_seq || 0) > (room.last_read_seq || 0)) {
      room.last_read_seq = room.last_seq;
      room.mentions = 0;
      this.sendRead(room);
      this.renderBadge();
      this.renderRooms();
    }
  };

  // At most one read frame a second per room: a busy room sends its latest mark.
  Chat.prototype.sendRead = function (room) {
    var self = this;
    if (room.readTimer) { return; }
    room.readTimer = setTimeout(function () {
      room.readTimer = null;
      room.readSent = Date.now();
      self.send({ type: "read", room_id: room.id, seq: room.last_read_seq });
    }, Math.max(0, 1000 - (Date.now() - (room.readSent || 0))));
  };

  Chat.prototype.onKey = function (event) {
    if (this.suggester && this.suggester.key(event)) { return; }   // the mention list takes arrows, Enter, Tab, Esc
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.submit(); }
    if (event.key === "Escape" && (this.reply || this.editing)) { event.preventDefault(); this.clearBar(); }   // not also a close
  };

  Chat.prototype.onInput = function () {
    var input = this.el.input;
    // "@" and a name's first letters: the members to mention (everyday.js)
    if (this.suggester || /(^|\s)@[^\s@]*$/.test(input.value.slice(0, input.selectionEnd))) { this.mention(); }
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
    if (this.current && Date.now() - this.lastTyping > 2000 && input.value) {
      this.lastTyping = Date.now();
      this.send({ type: "typing", room_id: this.current });
    }
  };

  Chat.prototype.onSubmit = function (event) { event.preventDefault(); this.submit(); };

  /* Text and the files uploaded for this room go in one send; while a file is still
     uploading, sending waits (the button is disabled, Enter says why). */
  Chat.prototype.submit = function () {
    var self = this;
    var text = this.el.input.value;
    var ups = this.editing ? [] : this.roomUploads();
    if (ups.some(uploading)) { this.toast(this.t("waitUploads")); return; }
    var files = ups.filter(function (u) { return u.att; }).map(function (u) { return u.att; });
    if ((!text.trim() && !files.length) || !this.current) { return; }
    if (this.editing) {
      if (!text.trim()) { return; }
      this.send({ type: "edit", message_id: this.editing.id, text: text });
    } else {
      var clientId = newClientId();
      var p = { room_id: this.current, text: text, answer_to: this.reply ? this.reply.id : 0, files: files, failed: false, at: Date.now() / 1000,
        mentions: this.mentionsIn ? this.mentionsIn(text) : [] };
      if (this.rooms[this.current].hasNewer) { this.toLatest(this.rooms[this.current]); }   // back to the latest, where it goes
      this.pending[clientId] = p;
      this.send(sendFrame(p, clientId));
      ups.forEach(function (u) { self.dropUpload(u); });   // files there mean more.js is loaded
      this.renderTray();
    }
    this.el.input.value = "";
    this.el.input.style.height = "auto";
    this.clearBar();
    this.render();
    this.el.messages.scrollTop = this.el.messages.scrollHeight;
  };

  Chat.prototype.retry = function (clientId) {
    var p = this.pending[clientId];
    if (!p) { return; }
    p.failed = p.error = false;
    this.send(sendFrame(p, clientId));
    this.render();
  };

  Chat.prototype.startReply = function (message) {
    this.editing = null;
    this.reply = message;
    this.el.barText.textContent = this.t("replyTo") + " " + message.user_name + ": " + this.preview(message);
    this.el.bar.classList.remove("ic-hidden");
    this.el.input.focus();
  };

  Chat.prototype.startEdit = function (message) {
    this.reply = null;
    this.editing = message;
    this.el.barText.textContent = this.t("editing");
    this.el.bar.classList.remove("ic-hidden");
    this.el.input.value = message.message;
    this.el.input.focus();
  };

  Chat.prototype.clearBar = function () {
    if (this.editing) { this.el.input.value = ""; }
    this.reply = null;
    this.editing = null;
    if (this.el) { this.el.bar.classList.add("ic-hidden"); }
  };

  Chat.prototype.remove = function (message) {
    if (window.confirm(this.t("confirmDelete"))) { this.send({ type: "delete", message_id: message.id }); }
  };

  /* -- files ------------------------------------------------------------------------ */

  function fill(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }
  function uploading(u) { return !u.att && !u.error; }
  function sendFrame(p, clientId) {
    var frame = { type: "send", room_id: p.room_id, text: p.text, client_id: clientId, answer_to: p.answer_to };
    if (p.files && p.files.length) { frame.attachments = p.files.map(function (a) { return a.id; }); }
    if (p.mentions && p.mentions.length) { frame.mentions = p.mentions; }
    return frame;
  }
  // File links are the server's paths unless it knows its public address.
  function fileUrl(url) { return typeof url === "string" && /^\/[^/]/.test(url) ? SERVER + url : webUrl(url); }
  var KINDS = [["image", /^image\//], ["pdf", /pdf/], ["audio", /^audio\//], ["video", /^video\//], ["archive", /zip|rar|7z|tar/],
    ["office", /word|excel|powerpoint|officedoc|opendoc|rtf/], ["text", /^text\/|json/]];
  function kindOf(type) { return (KINDS.filter(function (k) { return k[1].test(type || ""); })[0] || ["other"])[0]; }
  function fileIcon(name, type) {
    var ext = /\.([a-z0-9]{1,4})$/i.exec(name || "");
    return h("span", { class: "ic-file-icon", "data-kind": kindOf(type), "aria-hidden": "true", text: ext ? ext[1].toUpperCase() : "" });
  }

  /* A size in the chat's language: 742 bytes, 340 kB, 2.5 MB. */
  Chat.prototype.size = function (n) {
    var units = ["byte", "kilobyte", "megabyte", "gigabyte"];
    var at = 0;
    n = Number(n) || 0;
    while (n >= 1000 && at < 3) { n /= 1000; at += 1; }
    try {
      return new Intl.NumberFormat(this.lang, { style: "unit", unit: units[at], unitDisplay: at ? "short" : "long", maximumFractionDigits: n < 10 && at ? 1 : 0 }).format(n);
    } catch (e) { return Math.round(n * 10) / 10 + " " + ["B", "kB", "MB", "GB"][at]; }
  };

  /* What a message says in one line: its text, else its first file. */
  Chat.prototype.preview = function (m) {
    var first = (m.attachments || [])[0];
    if (m.deleted_at) { return this.t("deleted"); }
    return m.message || !first ? m.message : first.width ? "📷 " + this.t("photo") : "📎 " + first.name;
  };

  Chat.prototype.roomUploads = function () {
    var room = this.current;
    return this.uploads.filter(function (u) { return u.room === room; });
  };

  Chat.prototype.canAttach = function () {
    return this.files.max_bytes > 0 && !!this.current && !this.el.composer.classList.contains("ic-hidden");
  };

  Chat.prototype.onDrag = function (event) {
    var data = event.dataTransfer;
    if (!data || Array.prototype.indexOf.call(data.types || [], "Files") < 0 || !this.canAttach()) { return; }
    event.preventDefault();
    this.el.conv.classList.toggle("ic-drop", event.type === "dragover");
    if (event.type === "drop") { this.addFiles(data.files); }
  };

  // Pasted images (a screenshot, an image copied in a browser); pasted text stays text.
  Chat.prototype.onPaste = function (event) {
    var data = event.clipboardData;
    if (!data || !data.files || !data.files.length || data.getData("text/plain") || !this.canAttach()) { return; }
    event.preventDefault();
    this.addFiles(data.files);
  };

  /* Files picked, dropped or pasted are checked and uploaded by more.js (addFiles):
     the list is copied now, while the event still holds it. */
  Chat.prototype.addFiles = function (list) {
    var self = this;
    var files = Array.prototype.slice.call(list || []);
    if (files.length) { loadPart("more").then(function () { self.addFiles(files); }, function (error) { self.toast(error.message); }); }
  };

  Chat.prototype.renderTray = function () {
    var tray = this.el.tray;
    var ups = this.roomUploads();
    var box = this.el.messages;
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    var same = ups.length === tray.childNodes.length && ups.every(function (u, i) { return tray.childNodes[i] === u.node; });
    if (!same) { tray.textContent = ""; ups.forEach(function (u) { tray.appendChild(u.node); }); }
    tray.classList.toggle("ic-hidden", !ups.length);
    this.el.send.disabled = ups.some(uploading);
    if (atBottom) { box.scrollTop = box.scrollHeight; }   // the latest stays in sight above the tray
  };

  /* A message's files: images as thumbnails sized before they load (no jumps), the
     rest as cards that download. */
  Chat.prototype.attachments = function (room, list) {
    var self = this;
    return list && list.length ? h("div", { class: "ic-files" }, list.map(function (a) { return self.attachment(room, a); })) : null;
  };

  Chat.prototype.attachment = function (room, a) {
    var self = this;
    var thumb = fileUrl(a.thumbnail_url);
    if (thumb && a.width > 0 && a.height > 0) {
      var w = Math.max(1, Math.min(a.width, 260, Math.round(a.width * 320 / a.height)));
      return h("button", { class: "ic-thumb", type: "button", "data-file": String(a.id), onclick: function () { self.view(room, a); } }, [
        h("img", { src: thumb, alt: a.name, width: String(w), height: String(Math.round(w * a.height / a.width)), onerror: function () { self.refreshLinks(room); } })]);
    }
    var shown = /^(audio|video|image)\//.test(a.content_type);   // opened in a tab; the rest download
    return h("a", { class: "ic-file", href: fileUrl(a.url), target: shown ? "_blank" : null, rel: "noopener noreferrer", download: a.name, "data-file": String(a.id) }, [
      fileIcon(a.name, a.content_type),
      h("span", { class: "ic-file-main" }, [h("span", { class: "ic-file-name", text: a.name }), h("span", { class: "ic-file-size", text: this.size(a.size) })])]);
  };

  /* Links run out after a day: a file that no longer loads asks for the room's
     messages again, with fresh links (at most twice a minute). */
  Chat.prototype.refreshLinks = function (room) {
    if (Date.now() - (room.refreshed || 0) < 30000) { return; }
    room.refreshed = Date.now();
    this.send({ type: "history", room_id: room.id, limit: Math.min(100, Math.max(1, room.messages.length)) });
  };

  /* -- alerts: a sound, the tab's title, desktop notifications ---------------------- */

  /* This browser's choices for the user (sound, desktop, asked): read from storage each
     time, so every tab follows a change; ``value`` stores one. */
  Chat.prototype.pref = function (name, value) {
    var key = "imbachat.prefs." + SERVER + "." + IMBA_ID + "." + (this.me ? this.me.user_id : "");
    try { this.prefs = JSON.parse(window.localStorage.getItem(key)) || {}; } catch (e) { /* kept for this page */ }
    if (arguments.length > 1) {
      this.prefs[name] = value;
      try { window.localStorage.setItem(key, JSON.stringify(this.prefs)); } catch (e) { /* kept for this page */ }
    }
    return this.prefs[name];
  };

  // Alerts are for when the user is not looking: the chat closed, or the tab in the background.
  Chat.prototype.away = function () { return !this.panelOpen || document.hidden; };
  Chat.prototype.soundOn = function () { return this.alerts.sound !== false && this.pref("sound") !== false; };
  Chat.prototype.desktop = function () { return window.Notification ? Notification.permission : "none"; };

  /* A new message of someone else: unless its room is muted or the user is looking,
     a sound and a notification, a moment later and only if it is still unread then
     (another tab of the user may have shown it), from one tab of this browser. */
  Chat.prototype.alert = function (room, m) {
    var self = this;
    var quiet = function () { return room.muted && !self.mentionsMe(m); };
    if (quiet() || !this.away()) { return; }
    var go = function () {
      self.ding();
      if (self.desktop() === "granted" && self.pref("desktop") !== false) { self.notify(room, m); }
    };
    setTimeout(function () {
      if (quiet() || (room.last_read_seq || 0) >= m.seq || !self.away()) { return; }
      if (!navigator.locks) { go(); return; }   // then every tab alerts
      // The tab that takes the message's lock alerts; it keeps the lock while the others try.
      navigator.locks.request("imbachat.alert." + SERVER + "." + IMBA_ID + "." + m.id, { ifAvailable: true }, function (lock) {
        if (lock) { go(); return new Promise(function (done) { setTimeout(done, 10000); }); }
      }).catch(go);
    }, 600 + Math.random() * 500);
  };

  Chat.prototype.ding = function () {
    if (!this.soundOn() || Date.now() - (this.dinged || 0) < 2000) { return; }
    this.dinged = Date.now();
    this.audio = this.audio || new Audio(SERVER + SOUND);
    this.audio.currentTime = 0;
    var playing = this.audio.play();
    // A browser plays nothing on a page the visitor has not used yet (autoplay rules).
    if (playing && playing.catch) { playing.catch(function () {}); }
  };

  /* The tab's title: "(3) Page title" while messages of unmuted rooms are unread; the
     page's own title, exactly, when they are read (and, ``leaving``, when the page is
     left). A title the page sets meanwhile becomes the one shown after the count. */
  Chat.prototype.renderTitle = function (leaving) {
    var self = this;
    var count = leaving === true ? 0 : Object.keys(this.rooms).reduce(function (sum, id) {
      var room = self.rooms[id];
      return sum + (room.muted ? room.mentions || 0 : self.unread(room));
    }, 0);
    if (document.title !== this.titleSet) { this.titleBase = document.title; }
    this.titleSet = count ? "(" + count + ") " + this.titleBase : this.titleBase;
    if (document.title !== this.titleSet) { document.title = this.titleSet; }
  };

  Chat.prototype.toggleMute = function () {
    var room = this.rooms[this.current];
    if (room) { this.send({ type: "alerts", room_id: room.id, muted: !room.muted }); }   // the server's alerts frame shows it
  };

  /* Parts used on demand are scripts of their own, loaded on first use. more.js: the
     settings panel, the offer of notifications, the new-conference form, the image
     viewer, uploads, the public-chat block, notifications, people found, new names, a
     phone's page lock, a new token. everyday.js: the menus of messages and rooms, the
     mention list, the search and jumps to a message, reports, the people blocked.
     Until then each is a stand-in that loads its script and calls the real one (a
     Promise of what it returns). Each script hands its install to ImbaChat.__<part>. */
  var PARTS = { more: MORE, everyday: EVERYDAY, calls: CALLS };
  var parts = {};
  var partsCss = [];
  function loadPart(name) {
    parts[name] = parts[name] || new Promise(function (resolve, reject) {
      api["__" + name] = function (install) {
        var css = install({ Chat: Chat, h: h, avatar: avatar, fileUrl: fileUrl, EN: EN, fill: fill, uploading: uploading,
          fileIcon: fileIcon, svgIcon: svgIcon, SERVER: SERVER, SOUND: SOUND, IMBA_ID: IMBA_ID, ROOM_TYPE: ROOM_TYPE, richText: richText, webUrl: webUrl });
        partsCss.push(css);
        if (chat.host) { chat.host.shadowRoot.appendChild(h("style", { text: css })); }
        resolve();
      };
      (document.head || document.documentElement).appendChild(h("script", { src: SERVER + PARTS[name], async: true,
        onerror: function () { parts[name] = null; reject(new Error("imbachat: " + PARTS[name] + " did not load")); } }));
    });
    return parts[name];
  }
  [["more", "openSettings", "offerDesktop", "showConferenceForm", "view", "mountInline", "notify", "on_users_updated", "on_users_found", "lockPage",
    "renewToken"], ["everyday", "pickReaction", "messageMenu", "roomMenu", "openSearch", "mention", "jumpTo", "onAround", "loadNewer", "toLatest",
    "on_report", "on_reports", "on_reported", "on_search_results", "on_blocked_users", "buildBlocked"], ["calls", "startCall", "on_call", "on_call_signal"]].forEach(function (names) {
    names.slice(1).forEach(function (name) {
      Chat.prototype[name] = function () {
        var self = this;
        var args = arguments;
        return loadPart(names[0]).then(function () { return self[name].apply(self, args); }, function (error) { if (self.el) { self.toast(error.message); } throw error; });
      };
    });
  });

  /* The emoji picker: emoji.js (ImbaEmoji, see there), loaded on first use. */
  var emojis = null;
  Chat.prototype.pickEmoji = function (anchor, onPick) {
    var self = this;
    emojis = emojis || new Promise(function (resolve, reject) {
      document.head.appendChild(h("script", { src: SERVER + EMOJI, onload: resolve, onerror: reject }));
    });
    emojis.then(function () { ImbaEmoji.open(anchor, onPick); }, function () { emojis = null; self.toast(self.t("timeout")); });
  };

  /* -- rendering ----------------------------------------------------------------- */

  Chat.prototype.other = function (room) {
    var me = this.me;
    var people = (room.members || []).filter(function (m) { return !me || m.user_id !== me.user_id; });
    return room.type === 0 && people.length ? people[0] : null;
  };

  Chat.prototype.roomTitle = function (room) {
    var other = this.other(room);
    return other ? other.name : room.name;
  };

  Chat.prototype.unread = function (room) { return Math.max(0, (room.last_seq || 0) - (room.last_read_seq || 0)); };

  Chat.prototype.render = function () {
    if (!this.el) { return; }
    var el = this.el;
    this.renderBadge();
    var aside = !!(this.formOpen || this.settingsOpen);
    var room = !aside && this.current && this.rooms[this.current];
    el.list.classList.toggle("ic-hidden", !!room || aside);
    el.conv.classList.toggle("ic-hidden", !room);
    el.settings.classList.toggle("ic-hidden", !this.settingsOpen);
    el.back.classList.toggle("ic-hidden", !room && !aside);
    el.gear.classList.toggle("ic-hidden", aside);
    el.bell.classList.toggle("ic-hidden", !room);
    el.call.classList.toggle("ic-hidden", !room || room.type || !!this.guest || !window.RTCPeerConnection);
    el.menu.classList.toggle("ic-hidden", !room || !!this.guest);
    el.search.classList.toggle("ic-hidden", !!room || aside || !!this.guest);
    if (room) {
      el.bell.setAttribute("aria-pressed", String(!!room.muted));
      el.bell.firstChild.firstChild.setAttribute("d", room.muted ? BELL_OFF : BELL);
    }
    if (this.settingsOpen) { this.renderHeader(this.t("settings"), ""); this.syncSettings(); }
    else if (room) { this.renderConversation(); } else { this.renderHeader(this.formOpen && this.formTitle || this.params.title || this.t("chat"), ""); this.renderTabs(); this.renderRooms(); }
  };

  /* The header: a title (a link to the person's profile on the site when known). */
  Chat.prototype.renderHeader = function (title, sub, link) {
    var node = webUrl(link) ? h("a", { class: "ic-head-link", href: link, target: "_blank", rel: "noopener noreferrer", text: title })
      : document.createTextNode(title);
    this.el.title.replaceChild(node, this.el.title.firstChild);
    this.el.status.textContent = sub;
  };

  Chat.prototype.member = function (room, userId) {
    return (room.members || []).filter(function (m) { return m.user_id === userId; })[0] || null;
  };

  Chat.prototype.renderBadge = function () {
    var self = this;
    var total = Object.keys(this.rooms).reduce(function (sum, id) { return sum + self.unread(self.rooms[id]); }, 0);
    this.el.badge.textContent = total > 99 ? "99+" : String(total);
    this.el.badge.classList.toggle("ic-hidden", total === 0);
    this.el.launcher.setAttribute("aria-label", this.t("openChat") + (total ? ", " + this.t("unread", total) : ""));
    this.renderTitle();
  };

  Chat.prototype.renderTabs = function () {
    var self = this;
    var tabs = this.el.tabs;
    tabs.textContent = "";
    var types = this.guest ? [3].concat(this.roomsOf(1).length ? [1] : []) : TABS;
    types.forEach(function (type) {
      var unread = Object.keys(self.rooms).reduce(function (sum, id) { var r = self.rooms[id]; return sum + (r.type === type ? self.unread(r) : 0); }, 0);
      tabs.appendChild(h("button", { class: "ic-tab", type: "button", role: "tab", "aria-selected": String(self.tab === type),
        onclick: function () { self.tab = type; self.render(); } }, [self.t("tab" + type), unread ? h("span", { class: "ic-badge", text: String(unread) }) : null]));
    });
    var tools = this.el.tools;
    if (this.toolsTab === this.tab) { return; }   // keep what is being typed across renders
    this.toolsTab = this.tab;
    tools.textContent = "";
    this.el.found = null;
    if (this.tab === 0) {
      tools.appendChild(this.findPeople());
    } else if (this.tab === 1 && !this.guest) {
      tools.appendChild(h("button", { class: "ic-btn ic-btn-ghost", type: "button", text: "+ " + this.t("newConf"), onclick: this.showConferenceForm.bind(this) }));
    } else if (this.tab === 3) {
      tools.appendChild(this.guest && !this.roomsOf(3).length ? this.guestIntro() : h("button", {
        class: "ic-btn ic-btn-ghost", type: "button", text: this.t("contact"),
        onclick: function () { self.openSupport().catch(function () {}); } }));
    } else {
      tools.classList.add("ic-hidden");
      return;
    }
    tools.classList.remove("ic-hidden");
  };

  Chat.prototype.roomsOf = function (type) {
    var self = this;
    return Object.keys(this.rooms).filter(function (id) { return self.rooms[id].type === type; });
  };

  /* A guest's first screen: a line from the site, and how to be called and reached
     (both optional), then the support conversation. */
  Chat.prototype.guestIntro = function () {
    var self = this;
    var name = h("input", { type: "text", placeholder: this.t("yourName"), "aria-label": this.t("yourName"), maxlength: "100", autocomplete: "name" });
    var email = h("input", { type: "email", placeholder: this.t("yourEmail"), "aria-label": this.t("yourEmail"), maxlength: "254", autocomplete: "email" });
    return h("form", { class: "ic-guest", onsubmit: function (event) {
      event.preventDefault();
      self.openSupport(name.value.trim(), email.value.trim()).then(function () { self.toolsTab = null; }, function () {});
    } }, [h("p", { text: this.t("guestIntro") }), name, email, h("button", { class: "ic-btn", type: "submit", text: this.t("start") })]);
  };

  /* Whom to write to: a name (people in the user's rooms, and whoever the site's
     Users search URL finds) or a user id. */
  Chat.prototype.findPeople = function () {
    var self = this;
    var timer = null;
    var input = h("input", { type: "search", placeholder: this.t("find"), "aria-label": this.t("find"), maxlength: "100", autocomplete: "off" });
    var found = h("div", { class: "ic-found", role: "list" });
    function write() {
      var text = input.value.trim();
      var first = found.querySelector("button");
      if (/^\d+$/.test(text)) { self.openDialog(text); } else if (first) { first.click(); }
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (!text) { found.textContent = ""; return; }
      timer = setTimeout(function () { self.send({ type: "search_users", text: text }); }, 250);
    });
    input.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); write(); } });
    this.el.found = found;
    this.el.findInput = input;
    return h("div", { class: "ic-find" }, [
      h("div", { class: "ic-find-row" }, [input, h("button", { class: "ic-btn", type: "button", text: this.t("open"), onclick: write })]),
      found]);
  };

  Chat.prototype.renderRooms = function () {
    var self = this;
    var list = this.el.rooms;
    list.textContent = "";
    var rooms = Object.keys(this.rooms).map(function (id) { return self.rooms[id]; })
      .filter(function (r) { return r.type === self.tab; })
      .sort(function (a, b) { return activity(b) - activity(a) || b.id - a.id; });
    if (!rooms.length) { list.appendChild(h("li", { class: "ic-empty", text: this.t("empty") })); return; }
    rooms.forEach(function (room) {
      var other = self.other(room);
      var last = room.last_message;
      var unread = self.unread(room);
      var preview = last ? (last.deleted_at ? self.t("deleted") : (room.type !== 0 && last.user_name ? last.user_name + ": " : "") + self.preview(last)) : "";
      list.appendChild(h("li", {}, [h("button", { class: "ic-room", type: "button", "data-room": String(room.id),
        "aria-label": self.roomTitle(room) + (room.muted ? ", " + self.t("muted") : "") + (unread ? ", " + self.t("unread", unread) : "") +
          (room.mentions ? ", " + self.t("mentioned", room.mentions) : ""),
        onclick: function () { self.showRoom(room.id); } }, [
        avatar(other || { name: room.name, user_id: room.id }),
        h("div", { class: "ic-room-main" }, [
          h("div", { class: "ic-room-top" }, [h("span", { class: "ic-room-name", text: self.roomTitle(room) }), room.muted ? svgIcon(BELL_OFF) : null,
            last ? h("span", { class: "ic-room-time", text: self.clock(last.time) }) : null]),
          h("div", { class: "ic-room-bottom" }, [h("span", { class: "ic-room-preview", text: preview }),
            room.mentions ? h("span", { class: "ic-badge ic-at", text: "@" + (room.mentions > 1 ? room.mentions : "") }) : null,
            unread ? h("span", { class: "ic-badge", text: String(unread) }) : null])
        ])
      ])]));
    });
  };

  function activity(room) { return room.last_message ? Number(room.last_message.time) : 0; }

  Chat.prototype.renderConversation = function () {
    var self = this;
    var room = this.rooms[this.current];
    var other = this.other(room);
    var sub = other ? (other.online ? this.t("online") : "") : (room.count_users ? this.t("members", room.count_users) : "");
    var visitor = room.type === 3 && (room.members || []).filter(function (m) { return m.guest; })[0];
    if (visitor && !this.guest) {   // operators: who the guest said they are, and where they came from
      sub = [visitor.name + " (" + this.t("guest") + ")", visitor.guest.email, visitor.guest.page].filter(Boolean).join(" · ");
    }
    this.renderHeader(this.roomTitle(room), sub, other && other.profile_url);
    var readOnly = !this.canWrite(room);
    var blocked = !!other && this.blocked.indexOf(other.user_id) >= 0;   // the user blocked them: no composer
    var pin = room.pinned && !room.pinned.deleted_at ? room.pinned : null;
    this.el.composer.classList.toggle("ic-hidden", readOnly || blocked);
    this.el.readOnly.classList.toggle("ic-hidden", !readOnly);
    this.el.blockedNote.classList.toggle("ic-hidden", !blocked);
    this.el.pin.classList.toggle("ic-hidden", !pin);
    this.el.pin.textContent = "";
    if (pin) { this.el.pin.append(h("span", { class: "ic-sr", text: this.t("pinned") + ": " }), "📌 " + pin.user_name + ": " + this.preview(pin)); }
    this.el.attach.classList.toggle("ic-hidden", !this.files.max_bytes);
    if (this.files.accept) { this.el.file.setAttribute("accept", this.files.accept); } else { this.el.file.removeAttribute("accept"); }
    this.renderTray();
    var box = this.el.messages;
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    // Drawn again, focus stays where it was: the same control (or the same message).
    var active = this.host.shadowRoot.activeElement;
    var held = box.contains(active) && active.closest(".ic-msg[data-id]");
    var spot = held ? [].indexOf.call(held.querySelectorAll("button, a"), active) : -1;
    box.textContent = "";
    if (room.loaded && room.hasMore) { box.appendChild(h("div", { class: "ic-more", text: "…" })); }
    var readUpTo = (room.members || []).reduce(function (max, m) { return self.me && m.user_id === self.me.user_id ? max : Math.max(max, m.last_read_seq || 0); }, 0);
    var byId = {};
    room.messages.forEach(function (m) { byId[m.id] = m; });
    var day = null;
    room.messages.forEach(function (m) {
      if (dayKey(m.time) !== day) { day = dayKey(m.time); box.appendChild(h("div", { class: "ic-day", text: self.dayLabel(m.time) })); }
      box.appendChild(self.renderMessage(room, m, byId, readUpTo));
    });
    Object.keys(this.pending).forEach(function (clientId) {
      var p = self.pending[clientId];
      if (p.room_id !== room.id) { return; }
      var node = h("div", { class: "ic-msg ic-own ic-pending" + (p.failed ? " ic-failed" : "") }, [
        h("div", { class: "ic-bubble" + (p.text ? "" : " ic-only") }, [self.attachments(room, p.files), richText(p.text)]),
        h("div", { class: "ic-meta", text: p.failed ? (p.error ? p.error + " · " : "") + self.t("failed") : self.t("sending"), onclick: function () { self.retry(clientId); } })]);
      box.appendChild(node);
    });
    if (atBottom) { box.scrollTop = box.scrollHeight; }
    held = held && box.querySelector('.ic-msg[data-id="' + held.getAttribute("data-id") + '"]');
    if (held) { (held.querySelectorAll("button, a")[spot] || held).focus({ preventScroll: true }); }
    this.renderTyping();
  };

  // A call's record, in the chat's language once calls.js is here.
  Chat.prototype.callText = function (m) { loadPart("calls").then(this.render.bind(this)); return m.message; };

  Chat.prototype.renderMessage = function (room, m, byId, readUpTo) {
    var self = this;
    var own = this.me && m.user_id === this.me.user_id;
    var deleted = !!m.deleted_at;
    var quote = null;
    if (m.answer_to && !deleted) {
      var q = byId[m.answer_to];
      quote = h("div", { class: "ic-quote", text: q ? q.user_name + ": " + this.preview(q) : "#" + m.answer_to });
    }
    var meta = this.clock(m.time) + (m.edited_at && !deleted ? " · " + this.t("edited") : "") + (own && !deleted ? (m.seq <= readUpTo ? " ✓✓" : " ✓") : "");
    var actions = deleted ? null : h("div", { class: "ic-actions" }, [
      h("button", { type: "button", text: this.t("reply"), onclick: function () { self.startReply(m); } }),
      own && !m.call ? h("button", { type: "button", text: this.t("edit"), onclick: function () { self.startEdit(m); } }) : null,
      own ? h("button", { type: "button", text: this.t("del"), onclick: function () { self.remove(m); } }) : null,
      // A reaction, and the other actions (report, pin…): menus of everyday.js; a long press opens the menu too.
      this.canWrite(room) ? h("button", { class: "ic-add", type: "button", text: "☺+", "aria-label": this.t("addReaction"), title: this.t("addReaction"), onclick: function () { self.pickReaction(room, m, this); } }) : null,
      h("button", { type: "button", text: "⋯", "aria-label": this.t("actions"), title: this.t("actions"), "aria-haspopup": "menu",
        onclick: function () { self.messageMenu(room, m, this); } })]);
    return h("div", { class: "ic-msg" + (own ? " ic-own" : "") + (deleted ? " ic-deleted" : "") + (!own && this.mentionsMe(m) ? " ic-mention" : ""),
      "data-seq": String(m.seq), "data-id": String(m.id), tabindex: deleted ? null : "-1",
      oncontextmenu: deleted ? null : function (event) {
        if (!event.target.closest("a") && !String(getSelection())) { event.preventDefault(); self.messageMenu(room, m, this); }
      } }, [
      !own && (room.type !== 0 || m.is_bot) ? this.author(room, m) : null,
      h("div", { class: "ic-bubble" + (m.message || deleted ? "" : " ic-only") }, [quote, deleted ? this.t("deleted") : this.attachments(room, m.attachments),
        deleted ? null : richText(m.call ? this.callText(m) : m.message)]),
      this.reactions(room, m),
      h("div", { class: "ic-meta", text: meta }),
      actions]);
  };

  /* A message's reactions: a chip per emoji with its count, pressed when the user is
     among those who reacted (a click takes theirs back, or adds it), naming who did. */
  Chat.prototype.reactions = function (room, m) {
    var self = this;
    return (m.reactions || []).length ? h("div", { class: "ic-reacts" }, m.reactions.map(function (r) {
      var mine = !!self.me && r.user_ids.indexOf(self.me.user_id) >= 0;
      var names = r.user_ids.map(function (id) { var p = self.member(room, id); return p ? p.name : "User " + id; }).join(", ") + (r.count > r.user_ids.length ? "…" : "");
      return h("button", { class: "ic-react", type: "button", "aria-pressed": String(mine), title: names, "aria-label": r.emoji + " " + r.count + ": " + names,
        disabled: !self.canWrite(room), onclick: function () { self.send({ type: "react", message_id: m.id, emoji: r.emoji, remove: mine }); } }, [r.emoji + " " + r.count]);
    })) : null;
  };

  // Guests write in their support room, and in public rooms when the owner lets them.
  Chat.prototype.canWrite = function (room) { return !this.guest || room.type === 3 || !!this.guestWrites; };

  Chat.prototype.author = function (room, m) {
    var person = this.member(room, m.user_id);
    var label = m.user_name + (m.is_bot ? " · bot" : "") + (person && person.status === "guest" ? " · " + this.t("guest") : "");
    var link = person && webUrl(person.profile_url);
    return link ? h("a", { class: "ic-author", href: link, target: "_blank", rel: "noopener noreferrer", text: label })
      : h("div", { class: "ic-author", text: label });
  };

  /* "Today", "Yesterday" or the date, in the chat's language. */
  Chat.prototype.dayLabel = function (seconds) {
    var key = dayKey(seconds);
    var now = Date.now() / 1000;
    var ago = key === dayKey(now) ? 0 : key === dayKey(now - 86400) ? -1 : null;
    if (ago !== null && this.relative) {
      var word = this.relative.format(ago, "day");
      return word.charAt(0).toLocaleUpperCase(this.lang) + word.slice(1);
    }
    var date = new Date(Number(seconds) * 1000);
    return this.days ? this.days.format(date) : date.toLocaleDateString();
  };

  Chat.prototype.clock = function (seconds) {
    var date = new Date(Number(seconds) * 1000);
    return this.times ? this.times.format(date) : clock(seconds);
  };

  Chat.prototype.renderTyping = function () {
    var room = this.rooms[this.current];
    if (!room || !this.el) { return; }
    var now = Date.now();
    var names = [];
    Object.keys(room.typing).forEach(function (userId) {
      if (now - room.typing[userId] < 4000) {
        var member = (room.members || []).filter(function (m) { return String(m.user_id) === userId; })[0];
        names.push(member ? member.name : "User " + userId);
      } else { delete room.typing[userId]; }
    });
    this.el.typing.textContent = names.length ? names.join(", ") + " " + this.t(names.length > 1 ? "typingMany" : "typing") : "";
  };

  /* ---- the public objects, exactly as the CMS plugins use them ------------------ */

  /* window.ImbaChat, window.imbaChat and window.imbaApi are one object: the CMS
     plugins call all of these on any of the three. Calls that start work return a
     Promise that settles: resolved when it is done, rejected with an Error saying
     why. */
  var chat = new Chat();
  var api = imbaApi;
  api.__imbachat = true;
  api.room_type = ROOM_TYPE;
  api.load = function (params) { return chat.load(params); };
  api.openDialog = function (userId, unused, token) { chat.open(); return chat.openDialog(userId, unused, token); };
  api.openChat = function () { return (chat.loading || Promise.resolve()).then(function () { chat.open(); }); };
  api.closeChat = function () { chat.close(); return Promise.resolve(); };
  api.addToRoom = function (options) { return chat.addToRoom(options); };
  api.openSupport = function (name, email) { chat.open(); return chat.openSupport(name, email); };
  api.setToken = function (token) { chat.setToken(token); return Promise.resolve(); };
  api.setTheme = function (theme) { (chat.params || {}).theme = theme; chat.paint(); return Promise.resolve(); };
  window.ImbaChat = api;
  window.imbaChat = api;
  window.imbaApi = api;
})();
