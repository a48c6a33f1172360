/* imbachat widget: the emoji picker. widget.js loads this script from this server the
   first time a picker is opened (Chat.prototype.pickEmoji); its stylesheet, its
   strings in the widget's six languages (emoji/strings.json) and its data
   (emoji/data.json: Unicode's emoji by group, with English names and keywords; that
   file names its sources and licences) come inlined, and nothing else is fetched.
   No build step; emoji and names are only ever set as text.

   window.ImbaEmoji, for the widget's parts (the composer's button, "more reactions"):
     ImbaEmoji.open(anchor, onPick)
       Opens the picker by ``anchor``, a button inside the widget's shadow root (above
       it, or below where there is more room; the picker fits in the chat panel, a
       phone's whole screen included). The chosen emoji, a string, is recorded as
       recently used, the picker closes with focus back on ``anchor``, then
       onPick(emoji) is called (onPick may also be a textarea or input: the emoji
       goes in at its caret, as insert does). Opening it by the same anchor again
       closes it; Escape closes it (focus back on ``anchor``), and so does a click
       elsewhere, or the anchor hidden. Sets ``aria-expanded`` on the anchor.
     ImbaEmoji.close()          closes it, focus back on its anchor.
     ImbaEmoji.insert(field, text)
       Puts text at the caret of a textarea or input (in place of the selection),
       leaves the caret after it and focus on the field, and fires "input".
     ImbaEmoji.recent()         this browser's recently used emoji, latest first.
   In widget.js and more.js, Chat.prototype.pickEmoji(anchor, onPick) loads this
   script once, then calls ImbaEmoji.open(anchor, onPick). */
(function () {
  "use strict";
  if (window.ImbaEmoji) { return; }

  var CSS = /*__CSS__*/"";
  var STRINGS = /*__STRINGS__*/{ en: {} };
  var DATA = /*__DATA__*/{ groups: [], samples: {} };
  var RECENT_KEY = "imbachat.emoji.recent";
  var RECENT_MAX = 18;
  var ICONS = { recent: "🕘", smileys: "😀", people: "👋", animals: "🐻", food: "🍔", travel: "🚗",
    activities: "⚽", objects: "💡", symbols: "🔣", flags: "🏁" };
  var FONT = '"Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji", sans-serif';

  var names = {};   // emoji -> English name, for the recently used
  DATA.groups.forEach(function (group) {
    group.emoji.forEach(function (entry) { names[entry[0]] = entry[1]; });
  });

  function h(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === undefined || value === null || value === false) { return; }
      if (key === "text") { node.textContent = value; }
      else if (key === "class") { node.className = value; }
      else if (key.slice(0, 2) === "on") { node.addEventListener(key.slice(2), value); }
      else { node.setAttribute(key, value); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  /* Lower case words, separated by single spaces: names, keywords and what is typed. */
  function words(text) {
    return String(text).toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
  }

  /* ---- recently used: this browser's (storage may be off: then none) ------------------ */

  function recent() {
    try {
      var kept = JSON.parse(window.localStorage.getItem(RECENT_KEY) || "[]");
      return Array.isArray(kept) ? kept.filter(function (e) { return typeof e === "string" && names[e]; }).slice(0, RECENT_MAX) : [];
    } catch (e) { return []; }
  }

  function remember(emoji) {
    var list = [emoji].concat(recent().filter(function (e) { return e !== emoji; })).slice(0, RECENT_MAX);
    try { window.localStorage.setItem(RECENT_KEY, JSON.stringify(list)); } catch (e) { /* not kept */ }
  }

  /* ---- what this browser draws ---------------------------------------------------------- */

  /* The newest Emoji version the browser's font draws: the data's sample of each
     version (a single code point) drawn on a canvas, in colour or not. A browser
     that draws no emoji in colour (no emoji font to judge by) is shown them all. */
  var newest = null;
  function newestDrawn() {
    if (newest !== null) { return newest; }
    newest = Infinity;
    var canvas = document.createElement("canvas");
    canvas.width = canvas.height = 24;
    var context = canvas.getContext && canvas.getContext("2d", { willReadFrequently: true });
    if (!context) { return newest; }
    var coloured = function (emoji) {
      context.clearRect(0, 0, 24, 24);
      context.font = "20px " + FONT;
      context.textBaseline = "top";
      context.fillStyle = "#000";
      context.fillText(emoji, 0, 0);
      var pixels = context.getImageData(0, 0, 24, 24).data;
      for (var i = 0; i < pixels.length; i += 4) {
        var r = pixels[i], g = pixels[i + 1], b = pixels[i + 2];
        if (pixels[i + 3] > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) { return true; }
      }
      return false;
    };
    try {
      if (!coloured("😀")) { return newest; }
      newest = 11;
      Object.keys(DATA.samples).forEach(function (version) {
        if (coloured(DATA.samples[version])) { newest = Math.max(newest, Number(version)); }
      });
    } catch (e) { newest = Infinity; }
    return newest;
  }

  /* ---- the picker, built once per widget and language ------------------------------------ */

  var pickers = typeof WeakMap === "function" ? new WeakMap() : null;
  var state = null;   // the open picker: { p, anchor, onPick, holder }

  function Picker(lang, dir) {
    var self = this;
    this.lang = lang;
    this.dir = dir;
    this.strings = STRINGS[lang] || STRINGS.en;
    this.plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
    this.items = [];      // { button, hay, group }: every emoji of the data
    this.groups = [];     // { key, el, grid, cat, items }
    this.search = h("input", { type: "search", class: "ic-emoji-search", placeholder: this.t("search"), "aria-label": this.t("search"),
      autocomplete: "off", spellcheck: "false", enterkeyhint: "search", oninput: function () { self.filter(); } });
    this.cats = h("div", { class: "ic-emoji-cats", role: "toolbar", "aria-label": this.t("categories") });
    this.list = h("div", { class: "ic-emoji-list", onscroll: function () { self.follow(); } });
    this.status = h("p", { class: "ic-emoji-status ic-sr", role: "status" });
    this.box = h("div", { class: "ic-emoji", role: "dialog", "aria-label": this.t("emoji"), lang: lang, dir: dir,
      onkeydown: function (event) { self.onKey(event); }, onfocusout: function (event) { self.onFocusOut(event); } },
      [this.search, this.cats, this.list, this.status]);
    this.list.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest(".ic-emoji-grid button") : null;
      if (button) { pick(button.textContent); }
    });
    var drawn = newestDrawn();
    this.recentGroup = this.group("recent", []);
    this.results = h("div", { class: "ic-emoji-grid" });
    this.resultsEl = h("section", { class: "ic-hidden", role: "group", "aria-labelledby": "ic-emoji-results" },
      [h("h3", { id: "ic-emoji-results", text: this.t("results") }), this.results]);
    this.list.appendChild(this.resultsEl);
    DATA.groups.forEach(function (group) {
      self.group(group.key, group.emoji.filter(function (entry) { return !(entry[3] > drawn); }));
    });
    this.catButtons = this.groups.map(function (g) { return g.cat; });
  }

  Picker.prototype.t = function (key, count) {
    var value = this.strings[key] || STRINGS.en[key] || key;
    if (typeof value === "object") {
      var form = this.plurals ? this.plurals.select(count) : "other";
      value = (value[form] || value.other).replace("{n}", String(count));
    }
    return value;
  };

  Picker.prototype.emojiButton = function (emoji, name) {
    return h("button", { type: "button", tabindex: "-1", "aria-label": name, title: name, text: emoji });
  };

  /* A group: its heading, its emoji, and its button in the category bar. */
  Picker.prototype.group = function (key, entries) {
    var self = this;
    var label = this.t(key);
    var id = "ic-emoji-" + key;
    var g = { key: key, items: [] };
    g.grid = h("div", { class: "ic-emoji-grid" });
    g.el = h("section", { role: "group", "aria-labelledby": id }, [h("h3", { id: id, text: label }), g.grid]);
    entries.forEach(function (entry) {
      var item = { emoji: entry[0], name: entry[1], button: self.emojiButton(entry[0], entry[1]),
        named: " " + words(entry[1]), hay: " " + words(entry[1] + " " + (entry[2] || "")), order: self.items.length };
      g.grid.appendChild(item.button);
      g.items.push(item);
      self.items.push(item);
    });
    g.cat = h("button", { type: "button", tabindex: "-1", "aria-label": label, title: label, text: ICONS[key],
      onclick: function () { self.jump(g); } });
    this.cats.appendChild(g.cat);
    this.list.appendChild(g.el);
    this.groups.push(g);
    return g;
  };

  /* The recently used, as they are now (another tab may have added some). */
  Picker.prototype.fillRecent = function () {
    var self = this;
    var g = this.recentGroup;
    g.grid.textContent = "";
    g.items = recent().map(function (emoji) {
      var item = { button: self.emojiButton(emoji, names[emoji]), hay: "" };
      g.grid.appendChild(item.button);
      return item;
    });
  };

  /* What the search shows: the emoji whose name or keywords have words starting
     with each word typed, best first (the name itself, a name that starts so, the
     words in the name, in the keywords; shorter names first); without a search,
     every group, the recently used first. */
  Picker.prototype.filter = function () {
    var self = this;
    var typed = words(this.search.value);
    var wanted = typed ? typed.split(" ") : [];
    var has = function (text) { return wanted.every(function (w) { return text.indexOf(" " + w) >= 0; }); };
    var found = !wanted.length ? [] : this.items.filter(function (item) { return has(item.hay); }).map(function (item) {
      var rank = item.named === " " + typed ? 0 : item.named.indexOf(" " + typed) === 0 ? 1 : has(item.named) ? 2 : 3;
      return { item: item, rank: rank };
    }).sort(function (a, b) {
      return a.rank - b.rank || a.item.name.length - b.item.name.length || a.item.order - b.item.order;
    });
    this.results.textContent = "";
    found.forEach(function (f) { self.results.appendChild(self.emojiButton(f.item.emoji, f.item.name)); });
    this.resultsEl.classList.toggle("ic-hidden", !found.length);
    this.groups.forEach(function (g) {
      g.el.classList.toggle("ic-hidden", wanted.length > 0 || !g.items.length);
      g.cat.classList.toggle("ic-hidden", !g.items.length);
    });
    this.status.textContent = wanted.length ? (found.length ? this.t("found", found.length) : this.t("none")) : "";
    this.status.classList.toggle("ic-sr", !wanted.length || found.length > 0);
    this.list.scrollTop = 0;
    this.rove(this.shown()[0]);
    this.follow();
  };

  /* The emoji buttons shown, in order. */
  Picker.prototype.shown = function () {
    if (!this.resultsEl.classList.contains("ic-hidden")) { return [].slice.call(this.results.children); }
    var out = [];
    this.groups.forEach(function (g) {
      if (!g.el.classList.contains("ic-hidden")) { g.items.forEach(function (item) { out.push(item.button); }); }
    });
    return out;
  };

  /* One tab stop in the grid and one in the category bar: the arrows move within. */
  Picker.prototype.rove = function (button) {
    if (this.current && this.current !== button) { this.current.tabIndex = -1; }
    this.current = button || null;
    if (button) { button.tabIndex = 0; }
  };

  Picker.prototype.roveCat = function (button) {
    this.catButtons.forEach(function (b) { b.tabIndex = b === button ? 0 : -1; });
  };

  /* A category: the list scrolled to it (a search is cleared first). */
  Picker.prototype.jump = function (g) {
    if (this.search.value) { this.search.value = ""; this.filter(); }
    this.list.scrollTop = g.el.offsetTop - this.list.offsetTop;
    this.rove(g.items.length ? g.items[0].button : null);
    this.follow();
  };

  /* The category bar marks the group at the top of the list. */
  Picker.prototype.follow = function () {
    var top = this.list.scrollTop + this.list.offsetTop + 4;
    var at = null;
    this.groups.forEach(function (g) {
      if (!g.el.classList.contains("ic-hidden") && (!at || g.el.offsetTop <= top)) { at = g; }
    });
    var self = this;
    this.groups.forEach(function (g) {
      if (g === at) { g.cat.setAttribute("aria-current", "true"); } else { g.cat.removeAttribute("aria-current"); }
    });
    if (at && this.catButtons.indexOf(this.box.getRootNode().activeElement) < 0) { self.roveCat(at.cat); }
  };

  /* The next button in the row above (-1) or below (1), nearest in line with this one. */
  function vertical(buttons, at, step) {
    var here = buttons[at];
    var best = -1;
    var row = null;
    for (var i = at + step; i >= 0 && i < buttons.length; i += step) {
      var top = buttons[i].offsetTop;
      if (top === here.offsetTop) { continue; }
      if (row === null) { row = top; } else if (top !== row) { break; }
      if (best < 0 || Math.abs(buttons[i].offsetLeft - here.offsetLeft) < Math.abs(buttons[best].offsetLeft - here.offsetLeft)) { best = i; }
    }
    return best;
  }

  Picker.prototype.onKey = function (event) {
    var key = event.key;
    var target = event.target;
    var back = this.dir === "rtl" ? "ArrowRight" : "ArrowLeft";
    var ahead = this.dir === "rtl" ? "ArrowLeft" : "ArrowRight";
    if (key === "Escape") {
      event.preventDefault();
      event.stopPropagation();   // the chat stays open: only the picker closes
      close(true);
      return;
    }
    if (key === "Tab") {   // search, category bar, emoji: round and round
      var stops = [this.search, this.catButtons.filter(function (b) { return b.tabIndex === 0; })[0], this.current].filter(Boolean);
      var from = stops.indexOf(target);
      event.preventDefault();
      stops[(Math.max(from, 0) + (event.shiftKey ? stops.length - 1 : 1)) % stops.length].focus();
      return;
    }
    if (target === this.search) {
      if (key === "ArrowDown" && this.current) { event.preventDefault(); this.current.focus(); }
      if (key === "Enter" && this.search.value && this.current) { event.preventDefault(); pick(this.current.textContent); }
      return;
    }
    var cats = this.catButtons.filter(function (b) { return !b.classList.contains("ic-hidden"); });
    var c = cats.indexOf(target);
    if (c >= 0) {
      var next = { Home: 0, End: cats.length - 1 }[key];
      if (key === back) { next = (c + cats.length - 1) % cats.length; }
      if (key === ahead) { next = (c + 1) % cats.length; }
      if (next !== undefined) { event.preventDefault(); this.roveCat(cats[next]); cats[next].focus(); }
      return;
    }
    var buttons = this.shown();
    var at = buttons.indexOf(target);
    if (at < 0) { return; }
    var to = -1;
    if (key === back) { to = at - 1; }
    else if (key === ahead) { to = at + 1; }
    else if (key === "ArrowUp") { to = vertical(buttons, at, -1); }
    else if (key === "ArrowDown") { to = vertical(buttons, at, 1); }
    else if (key === "Home") { to = 0; }
    else if (key === "End") { to = buttons.length - 1; }
    else { return; }
    event.preventDefault();
    if (to < 0 && key === "ArrowUp") { this.search.focus(); return; }
    if (to >= 0 && to < buttons.length) { this.rove(buttons[to]); buttons[to].focus(); }
  };

  /* Focus gone elsewhere (a click on another control, a room opened): closed. */
  Picker.prototype.onFocusOut = function (event) {
    var to = event.relatedTarget;
    if (state && state.p === this && to && !this.box.contains(to) && to !== state.anchor) { close(false); }
  };

  /* ---- open, place, close ---------------------------------------------------------------- */

  function styled(root) {
    var into = root.nodeType === 11 ? root : document.head;
    if (into.querySelector("style[data-ic-emoji]")) { return; }
    var style = h("style", { "data-ic-emoji": "", text: CSS });
    into.appendChild(style);
  }

  function open(anchor, onPick) {
    if (state && state.anchor === anchor) { close(true); return; }
    close(false);
    var root = anchor.getRootNode ? anchor.getRootNode() : document;
    var spoken = anchor.closest("[lang]");
    var lang = ((spoken && spoken.getAttribute("lang")) || "en").slice(0, 2).toLowerCase();
    var turned = anchor.closest("[dir]");
    var dir = turned && turned.getAttribute("dir") === "rtl" ? "rtl" : "ltr";
    var p = pickers && pickers.get(root);
    if (!p || p.lang !== lang || p.dir !== dir) {
      p = new Picker(STRINGS[lang] ? lang : "en", dir);
      p.lang = lang;
      if (pickers) { pickers.set(root, p); }
    }
    styled(root);
    p.fillRecent();
    p.search.value = "";
    state = { p: p, anchor: anchor, onPick: onPick, holder: anchor.closest(".ic-panel") || anchor.closest(".ic") || document.body };
    state.holder.appendChild(p.box);
    p.filter();
    anchor.setAttribute("aria-expanded", "true");
    place();
    document.addEventListener("pointerdown", outside, true);
    window.addEventListener("resize", replace);
    window.addEventListener("popstate", gone);
    if (window.visualViewport) { window.visualViewport.addEventListener("resize", replace); }
    if (window.IntersectionObserver) {
      state.watch = new IntersectionObserver(function (seen) { if (!seen[seen.length - 1].isIntersecting) { gone(); } });
      state.watch.observe(anchor);
    }
    // A touch screen gets the emoji, not an on-screen keyboard for the search.
    var touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    (touch && p.current ? p.current : p.search).focus({ preventScroll: true });
  }

  /* Above the anchor, or below it where there is more room; inside the panel. */
  function place() {
    if (!state) { return; }
    var box = state.p.box;
    var anchor = state.anchor;
    if (!anchor.isConnected || !anchor.getClientRects().length) { close(false); return; }
    var outer = state.holder.getBoundingClientRect();
    var at = anchor.getBoundingClientRect();
    var margin = 6, gap = 4;
    var width = Math.min(360, outer.width - 2 * margin);
    var above = at.top - outer.top - gap - margin;
    var below = outer.bottom - at.bottom - gap - margin;
    var height = Math.max(120, Math.min(400, Math.max(above, below)));
    var top = above >= below ? at.top - outer.top - gap - height : at.bottom - outer.top + gap;
    var left = state.p.dir === "rtl" ? at.left - outer.left : at.right - outer.left - width;
    left = Math.max(margin, Math.min(left, outer.width - width - margin));
    top = Math.max(0, Math.min(top, outer.height - height));
    box.style.width = width + "px";
    box.style.height = height + "px";
    box.style.left = left + "px";
    box.style.top = top + "px";
  }

  var frame = 0;
  function replace() {
    if (frame) { return; }
    frame = window.requestAnimationFrame(function () { frame = 0; place(); });
  }

  function outside(event) {
    var path = event.composedPath ? event.composedPath() : [event.target];
    if (state && path.indexOf(state.p.box) < 0 && path.indexOf(state.anchor) < 0) { close(false); }
  }

  function gone() { close(false); }

  function close(refocus) {
    if (!state) { return; }
    var was = state;
    state = null;
    if (was.p.box.parentNode) { was.p.box.parentNode.removeChild(was.p.box); }
    was.anchor.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", outside, true);
    window.removeEventListener("resize", replace);
    window.removeEventListener("popstate", gone);
    if (window.visualViewport) { window.visualViewport.removeEventListener("resize", replace); }
    if (was.watch) { was.watch.disconnect(); }
    if (refocus && was.anchor.isConnected) { was.anchor.focus(); }
  }

  function pick(emoji) {
    if (!state) { return; }
    var onPick = state.onPick;
    remember(emoji);
    close(true);
    if (typeof onPick === "function") { onPick(emoji); } else if (onPick) { insert(onPick, emoji); }
  }

  /* Text at the caret of a field; the browser's own insertion where it has one, so
     that undo takes it back. */
  function insert(field, text) {
    var start = typeof field.selectionStart === "number" ? field.selectionStart : field.value.length;
    var end = typeof field.selectionEnd === "number" ? field.selectionEnd : start;
    field.focus();
    field.setSelectionRange(start, end);
    var done = false;
    try { done = document.execCommand("insertText", false, text); } catch (e) { done = false; }
    if (!done) {
      field.setRangeText(text, start, end, "end");
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  window.ImbaEmoji = {
    open: open,
    close: function () { close(true); },
    insert: insert,
    recent: recent
  };
})();
