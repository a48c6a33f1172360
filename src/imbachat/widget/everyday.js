/* imbachat widget, issue 18's parts: what people do around messages. widget.js draws
   the reactions under messages, the highlight of a mention, the "@" badge of the room
   list and a conference's pinned message; the rest loads with this script the first
   time it is used, handed what it needs through ImbaChat.__everyday: the menus of a
   message (quick reactions, reply, edit, delete, report, pin) and of a room (search
   in it, block, reports), the list of people to mention, the search of messages and
   the jump to one, the report dialog, the reports of room staff, and the people the
   user blocked (in the settings). No build step; user text is only ever set as text. */
(function () {
  "use strict";
  var CSS = /*__CSS__*/"";
  // The English strings only these parts use (the widget has the rest built in).
  var EN = /*__EN__*/{};
  var api = window.ImbaChat;
  if (!api || typeof api.__everyday !== "function") { return; }

  api.__everyday(function (lib) {
    var Chat = lib.Chat;
    var h = lib.h;
    Object.assign(lib.EN, EN);

    /* -- issue 18: reactions, the menus of a message and of a room, mentions, search
          and jumps to a message, blocking, reports ----------------------------------- */

    var QUICK = ["👍", "❤️", "😂", "😮", "😢", "🙏"];
    var REASONS = ["reasonSpam", "reasonAbuse", "reasonIllegal", "reasonOther"];
    function escaped(text) { return String(text).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }
    function staff(room) { return room.role === "admin" || room.role === "moderator"; }
    function seconds(utc) { return Date.parse(String(utc).replace(" ", "T") + "Z") / 1000; }

    Chat.prototype.menuItem = function (text, action, props) {
      var self = this;
      return h("button", Object.assign({ type: "button", role: "menuitem", tabindex: "-1", text: text,
        onclick: function () { self.closePopup(); action(); } }, props || {}));
    };

    /* A small menu by ``anchor``: the arrows (and Home, End) move in it; Esc, Tab or a
       click elsewhere close it, and focus goes back to the anchor (or to the message
       ``messageId`` when the conversation was drawn again meanwhile). */
    Chat.prototype.popup = function (anchor, label, items, messageId) {
      var self = this;
      this.closePopup(true);
      var box = h("div", { class: "ic-popup", role: "menu", "aria-label": label, onkeydown: function (event) {
        var all = [].slice.call(box.querySelectorAll("[role^=menuitem]"));
        var at = all.indexOf(event.target);
        var ahead = self.dir === "rtl" ? -1 : 1;
        var move = { ArrowDown: 1, ArrowUp: -1, ArrowRight: ahead, ArrowLeft: -ahead, Home: -at, End: all.length - 1 - at }[event.key];
        if (move !== undefined) { event.preventDefault(); all[(at + move + all.length) % all.length].focus(); }
        if (event.key === "Escape" || event.key === "Tab") { event.preventDefault(); self.closePopup(); }
      } }, items);
      var outside = function (event) { if (!box.contains(event.target)) { self.closePopup(); } };
      var held = anchor.closest(".ic-msg");   // its actions stay shown meanwhile: focus can go back to them
      var spot = anchor.parentNode.classList.contains("ic-actions") ? [].indexOf.call(anchor.parentNode.children, anchor) : -1;
      if (held) { held.classList.add("ic-held"); }
      this.popped = { node: box, outside: outside, held: held, back: function (p) {
        if (!anchor.isConnected) {   // drawn again meanwhile: the same control of the same message
          var msg = p.held = self.el.messages.querySelector('.ic-msg[data-id="' + messageId + '"]');
          if (msg) { msg.classList.add("ic-held"); }
          anchor = (msg && spot >= 0 ? msg.querySelector(".ic-actions").children[spot] : msg) || self.el.messages;
        }
        anchor.focus({ preventScroll: true });
      } };
      this.el.panel.appendChild(box);
      var panel = this.el.panel.getBoundingClientRect();
      var at = anchor.getBoundingClientRect();
      var top = at.bottom - panel.top + 4;
      if (top + box.offsetHeight > panel.height - 8) { top = Math.max(8, at.top - panel.top - box.offsetHeight - 4); }
      box.style.top = top + "px";
      box.style.left = Math.max(8, Math.min(at.left - panel.left, panel.width - box.offsetWidth - 8)) + "px";
      this.el.root.addEventListener("pointerdown", outside, true);
      box.querySelector("[role^=menuitem]").focus();
    };

    Chat.prototype.closePopup = function (quiet) {
      var p = this.popped;
      if (!p) { return; }
      this.popped = null;
      p.node.remove();
      this.el.root.removeEventListener("pointerdown", p.outside, true);
      if (!quiet) { p.back(p); }
      if (p.held) { p.held.classList.remove("ic-held"); }
    };

    /* The quick reactions (checked: the user's own, a second pick takes it back), and
       the emoji picker for any other. */
    Chat.prototype.reactionItems = function (room, m, anchor) {
      var self = this;
      var items = QUICK.map(function (emoji) {
        return self.menuItem(emoji, function () { self.react(m, emoji); }, { role: "menuitemcheckbox", "aria-checked": String(self.reacted(m, emoji)) });
      });
      if (this.pickEmoji) {
        items.push(this.menuItem("…", function () {
          // By the message's "add a reaction" button, kept shown while the picker is open.
          var msg = self.el.messages.querySelector('.ic-msg[data-id="' + m.id + '"]');
          var button = msg && msg.querySelector(".ic-add");
          if (!button) { return; }
          msg.classList.add("ic-held");
          new MutationObserver(function (changes, watch) {
            if (button.getAttribute("aria-expanded") === "false") { watch.disconnect(); msg.classList.remove("ic-held"); }
          }).observe(button, { attributes: true, attributeFilter: ["aria-expanded"] });
          self.pickEmoji(button, function (emoji) { self.react(m, emoji); });
        }, { "aria-label": this.t("moreEmoji"), title: this.t("moreEmoji") }));
      }
      return h("div", { class: "ic-quick", role: "group", "aria-label": this.t("reactions") }, items);
    };

    Chat.prototype.reacted = function (m, emoji) {
      var me = this.me && this.me.user_id;
      return (m.reactions || []).some(function (r) { return r.emoji === emoji && r.user_ids.indexOf(me) >= 0; });
    };

    Chat.prototype.react = function (m, emoji) {
      this.send({ type: "react", message_id: m.id, emoji: emoji, remove: this.reacted(m, emoji) });
    };

    Chat.prototype.pickReaction = function (room, m, anchor) {
      this.popup(anchor, this.t("addReaction"), [this.reactionItems(room, m, anchor)], m.id);
    };

    /* A message's menu (its "⋯" button, or a long press): reactions, then what the user
       may do with it: reply, edit and delete their own (staff delete any), report
       someone else's, pin it (a conference's admins). */
    Chat.prototype.messageMenu = function (room, m, anchor) {
      var self = this;
      var own = !!this.me && m.user_id === this.me.user_id;
      var pinned = !!room.pinned && room.pinned.id === m.id;
      this.popup(anchor, this.t("actions"), [
        this.canWrite(room) ? this.reactionItems(room, m, anchor) : null,
        this.canWrite(room) ? this.menuItem(this.t("reply"), function () { self.startReply(m); }) : null,
        own && !m.call ? this.menuItem(this.t("edit"), function () { self.startEdit(m); }) : null,   // a call's record stays as it is
        own || staff(room) ? this.menuItem(this.t("del"), function () { self.remove(m); }) : null,
        own ? null : this.menuItem(this.t("report"), function () { self.report(m); }),
        room.type === lib.ROOM_TYPE.conference && room.role === "admin" ? this.menuItem(this.t(pinned ? "unpin" : "pin"), function () {
          self.send(pinned ? { type: "unpin", room_id: room.id } : { type: "pin", room_id: room.id, message_id: m.id });
        }) : null], m.id);
    };

    /* The room's menu (⋮ in the header): search in it; block or unblock the other
       person of a dialog; the room's reports, for its staff. */
    Chat.prototype.roomMenu = function (anchor) {
      var self = this;
      var room = this.rooms[this.current];
      if (!room) { return; }
      var other = this.other(room);
      var blocked = !!other && this.blocked.indexOf(other.user_id) >= 0;
      this.popup(anchor, this.t("menu"), [
        this.menuItem(this.t("searchHere"), function () { self.openSearch(room.id); }),
        other ? this.menuItem(this.t(blocked ? "unblock" : "block"), function () { self.block(other, !blocked); }) : null,
        staff(room) && room.type !== lib.ROOM_TYPE.dialog ? this.menuItem(this.t("reports"), function () { self.openReports(room.id); }) : null]);
    };

    Chat.prototype.block = function (person, yes) {
      if (yes && !window.confirm(lib.fill(this.t("confirmBlock"), { name: person.name }))) { return; }
      this.send({ type: yes ? "block_user" : "unblock_user", user_id: person.user_id });
    };

    /* -- mentions: "@" and the first letters of a name in the composer list the room's
          members whose name (or a word of it) starts so; the arrows and Enter or Tab,
          or a click, put "@Name " in its place. ------------------------------------ */

    Chat.prototype.mention = function () {
      var self = this;
      var input = this.el.input;
      var room = this.rooms[this.current];
      var found = room && /(^|\s)@([^\s@]*)$/.exec(input.value.slice(0, input.selectionEnd));
      var me = this.me && this.me.user_id;
      var people = found ? (room.members || []).filter(function (p) {
        return p.user_id !== me && (" " + p.name.toLowerCase()).indexOf(" " + found[2].toLowerCase()) >= 0;
      }).slice(0, 8) : [];
      if (!people.length) { this.closeSuggest(); return; }
      var s = this.suggester;
      if (!s) {
        s = this.suggester = { node: h("ul", { class: "ic-suggest", role: "listbox", id: "ic-suggest", "aria-label": this.t("mentionList") }) };
        s.key = function (event) {
          var moves = { ArrowDown: 1, ArrowUp: -1 };
          if (event.key in moves) { s.at = (s.at + moves[event.key] + s.people.length) % s.people.length; self.drawSuggest(); }
          else if ((event.key === "Enter" || event.key === "Tab") && !event.isComposing) { self.pickMention(s.people[s.at]); }
          else if (event.key === "Escape") { self.closeSuggest(); }
          else { return false; }
          event.preventDefault();
          return true;
        };
        input.setAttribute("aria-controls", "ic-suggest");
        input.setAttribute("aria-autocomplete", "list");
        input.addEventListener("blur", this.closeSuggest.bind(this), { once: true });
        this.el.conv.insertBefore(s.node, this.el.composer);
      }
      s.people = people;
      s.at = 0;
      s.start = input.selectionEnd - found[2].length - 1;
      this.drawSuggest();
    };

    Chat.prototype.drawSuggest = function () {
      var self = this;
      var s = this.suggester;
      s.node.textContent = "";
      s.people.forEach(function (person, i) {
        s.node.appendChild(h("li", { role: "option", id: "ic-suggest-" + i, "aria-selected": String(i === s.at),
          onmousedown: function (event) { event.preventDefault(); },   // the field keeps the focus
          onclick: function () { self.pickMention(person); } }, [lib.avatar(person, true), person.name]));
      });
      this.el.input.setAttribute("aria-activedescendant", "ic-suggest-" + s.at);
      s.node.children[s.at].scrollIntoView({ block: "nearest" });
    };

    Chat.prototype.pickMention = function (person) {
      var input = this.el.input;
      var start = this.suggester.start;
      var before = input.value.slice(0, start) + "@" + person.name + " ";
      input.value = before + input.value.slice(input.selectionEnd);
      input.setSelectionRange(before.length, before.length);
      this.closeSuggest();
      input.focus();
      this.onInput();
    };

    Chat.prototype.closeSuggest = function () {
      var s = this.suggester;
      if (!s) { return; }
      this.suggester = null;
      s.node.remove();
      ["aria-activedescendant", "aria-controls", "aria-autocomplete"].forEach(function (name) { this.el.input.removeAttribute(name); }, this);
    };

    /* The members the text names as "@Name" when it is sent (names taken out meanwhile
       are not mentioned). */
    Chat.prototype.mentionsIn = function (text) {
      var room = this.rooms[this.current];
      var me = this.me && this.me.user_id;
      return ((room && room.members) || []).filter(function (p) {
        return p.user_id !== me && new RegExp("(^|\\s)@" + escaped(p.name) + "(?![\\p{L}\\p{N}])", "u").test(text);
      }).map(function (p) { return p.user_id; }).slice(0, 50);
    };

    /* -- panels in place of the list: the search, the reports (el.form, as the new
          conference form). The back button returns to the room they were opened from. */

    Chat.prototype.showForm = function (kind, title, nodes, fromRoom) {
      var form = this.el.form;
      form.textContent = "";
      nodes.forEach(function (node) { form.appendChild(node); });
      if (this.historyDepth === 1) { history.pushState({ imbachat: "form" }, ""); this.historyDepth = 2; }
      this.closePopup(true);
      this.formOpen = true;
      this.formKind = kind;
      this.formTitle = title;
      this.formRoom = fromRoom || null;
      this.settingsOpen = this.settingsPushed = false;
      form.classList.remove("ic-hidden");
      this.render();
    };

    Chat.prototype.closeForm = function () {
      this.formOpen = false;
      this.formKind = this.formRoom = null;
      this.el.form.classList.add("ic-hidden");
    };

    var showList = Chat.prototype.showList;
    Chat.prototype.showList = function (fromHistory) {
      var room = fromHistory !== true && this.formOpen && this.formRoom;
      this.formKind = null;
      if (room && this.rooms[room]) { this.closeForm(); this.showRoom(room); return; }
      showList.call(this, fromHistory);
    };

    /* The search: the user's messages (or one room's) with these words, the best first
       (newest first among equals), the words marked; a click opens the room at that
       message. "Show more" asks for the next page. */
    Chat.prototype.openSearch = function (roomId) {
      var self = this;
      var timer = null;
      var s = this.searching = { room: typeof roomId === "number" ? roomId : null, text: "", seen: {}, count: 0 };
      s.input = h("input", { type: "search", class: "ic-field", placeholder: this.t("searchWords"), "aria-label": this.t("searchWords"), maxlength: "200",
        autocomplete: "off", oninput: function () { clearTimeout(timer); timer = setTimeout(function () { self.runSearch(false); }, 300); },
        onkeydown: function (event) { if (event.key === "Enter") { event.preventDefault(); clearTimeout(timer); self.runSearch(false); } } });
      s.status = h("p", { class: "ic-none", role: "status" });
      s.list = h("ul", { class: "ic-results", "aria-label": this.t("search") });
      s.more = h("button", { class: "ic-btn ic-btn-ghost ic-hidden", type: "button", text: this.t("showMore"), onclick: function () { self.runSearch(true); } });
      this.showForm("search", this.t(s.room ? "searchHere" : "search"), [s.input, s.status, s.list, s.more], s.room);
      s.input.focus();
    };

    Chat.prototype.runSearch = function (more) {
      var s = this.searching;
      var text = s.input.value.trim().slice(0, 200);
      if (!more) {
        if (text === s.text && s.count) { return; }
        s.list.textContent = s.status.textContent = "";
        s.seen = {};
        s.count = 0;
        s.more.classList.add("ic-hidden");
      }
      s.text = text;
      if (!text) { return; }
      var frame = { type: "search", text: text, limit: 20 };
      if (s.room) { frame.room_id = s.room; }
      if (more) { frame.before = s.next; }
      this.send(frame);
    };

    Chat.prototype.on_search_results = function (frame) {
      var self = this;
      var s = this.searching;
      if (!s || this.formKind !== "search" || frame.text !== s.text || (frame.room_id || null) !== s.room) { return; }   // a stale answer
      frame.results.forEach(function (found) {
        var m = found.message;
        var room = self.rooms[found.room.id];
        if (s.seen[m.id]) { return; }
        s.seen[m.id] = true;
        s.count += 1;
        s.list.appendChild(h("li", {}, [h("button", { class: "ic-result", type: "button", "data-room": String(found.room.id), "data-seq": String(m.seq),
          onclick: function () { self.jumpTo(found.room.id, m.seq); } }, [
          h("span", { class: "ic-result-top" }, [h("b", { text: room ? self.roomTitle(room) : found.room.name }),
            h("span", { class: "ic-room-time", text: self.dayLabel(m.time) + " " + self.clock(m.time) })]),
          h("span", { class: "ic-result-author", text: m.user_name }),
          h("span", { class: "ic-result-text" }, [marked(m.message, s.text)])])]));
      });
      s.next = frame.next;
      s.more.classList.toggle("ic-hidden", frame.next === null || frame.next === undefined);
      s.status.textContent = s.count ? this.t("results", s.count) : this.t("noResults");
    };

    /* The text with the words searched for marked: words that start as a searched word
       does (its ending may differ: "кошки" for "кошка"), from a little before the first. */
    function marked(text, query) {
      var out = document.createDocumentFragment();
      var stems = query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean).map(function (w) { return escaped(w.length > 4 ? w.slice(0, -2) : w); });
      var find = stems.length ? new RegExp("(?<![\\p{L}\\p{N}])(?:" + stems.join("|") + ")[\\p{L}\\p{N}]*", "giu") : null;
      var first = find ? text.search(find) : -1;
      var last = 0;
      if (first > 60) { text = "…" + text.slice(text.lastIndexOf(" ", first - 30) + 1); }
      String(text).replace(find || /$^/, function (word, at) {
        out.append(text.slice(last, at), h("mark", { text: word }));
        last = at + word.length;
        return word;
      });
      out.append(text.slice(last));
      return out;
    }

    /* -- jumps: a message shown in its room (a search result, the pinned message, a
          report), from the page of messages around it when it is not loaded. Until the
          latest are reached again, live messages wait (widget.js) and scrolling down
          loads the next page. */

    Chat.prototype.jumpTo = function (roomId, seq) {
      var room = this.rooms[roomId];
      if (!room) { return; }
      if (this.formOpen) { this.closeForm(); }
      var have = room.loaded && room.messages.some(function (m) { return m.seq === seq; });
      room.jump = seq;
      if (!have) { room.loadingHistory = true; }   // not the latest page: the one around the message
      if (this.current !== room.id) { this.showRoom(room.id); } else { this.render(); }
      if (have) { this.showJump(room); return; }
      if (!this.send({ type: "history", room_id: room.id, around_seq: seq, limit: 30 })) { room.loadingHistory = false; }
    };

    Chat.prototype.onAround = function (room, frame) {
      var list = room.messages;
      room.loadingHistory = false;
      if (frame.around_seq === room.jump) {   // what was shown gives way (the latest stay when the page reaches them)
        var end = frame.messages.length ? frame.messages[frame.messages.length - 1].seq : 0;
        room.messages = frame.messages.concat(frame.has_newer ? [] : list.filter(function (m) { return m.seq > end; }));
        room.hasMore = frame.has_more;
      } else {   // the next page, below
        var last = list.length ? list[list.length - 1].seq : 0;
        room.messages = list.concat(frame.messages.filter(function (m) { return m.seq > last; }));
      }
      room.hasNewer = !!frame.has_newer;
      room.loaded = true;
      this.render();
      if (frame.around_seq === room.jump) { this.showJump(room); }
    };

    Chat.prototype.showJump = function (room) {
      var seq = room.jump;
      var box = this.el.messages;
      room.jump = null;
      var node = this.current === room.id && box.querySelector('.ic-msg[data-seq="' + seq + '"]');
      if (!node) { return; }
      box.scrollTop += node.getBoundingClientRect().top - box.getBoundingClientRect().top - (box.clientHeight - node.offsetHeight) / 2;
      node.classList.add("ic-flash");
      setTimeout(function () { node.classList.remove("ic-flash"); }, 2500);
      if (node.hasAttribute("tabindex")) { node.focus({ preventScroll: true }); }
    };

    Chat.prototype.loadNewer = function (room) {
      if (room.loadingHistory || !room.messages.length) { return; }
      var last = room.messages[room.messages.length - 1].seq;
      room.loadingHistory = true;
      var frame = { type: "history", room_id: room.id, around_seq: Math.max(last, Math.min(last + 15, room.last_seq || 0)), limit: 30 };
      if (!this.send(frame)) { room.loadingHistory = false; }
    };

    /* Sending from older messages: the room shows its latest again, where it goes. */
    Chat.prototype.toLatest = function (room) {
      room.messages = [];
      room.hasNewer = room.loadingHistory = false;
      room.hasMore = true;
      this.requestHistory(room.id);
    };

    /* -- reporting a message: a reason (a choice, and words of one's own), sent to the
          room's moderators; a dialog over the chat, focus back on the message. */

    Chat.prototype.report = function (m) {
      var self = this;
      var back = this.el.messages.querySelector('.ic-msg[data-id="' + m.id + '"]') || this.el.messages;
      var radios = REASONS.map(function (key) { return h("input", { type: "radio", name: "ic-reason", value: key }); });
      var details = h("textarea", { rows: "3", maxlength: "1000" });
      var note = h("p", { class: "ic-warn", role: "alert" });
      var send = h("button", { class: "ic-btn", type: "submit", text: this.t("sendReport") });
      var form = h("form", { onsubmit: function (event) {
        event.preventDefault();
        var chosen = radios.filter(function (r) { return r.checked; })[0];
        var reason = [chosen && chosen.value !== "reasonOther" ? self.t(chosen.value) : "", details.value.trim()].filter(Boolean).join(": ").slice(0, 1000);
        if (!reason) { note.textContent = self.t("reasonNeeded"); (chosen ? details : radios[0]).focus(); return; }
        send.disabled = true;
        if (!self.send({ type: "report", message_id: m.id, reason: reason })) { send.disabled = false; note.textContent = self.t("connecting"); }
      } }, [
        h("h2", { id: "ic-dialog-title", text: this.t("reportTitle") }),
        h("p", { class: "ic-quote", text: m.user_name + ": " + this.preview(m) }),
        h("fieldset", { class: "ic-reasons" }, [h("legend", { text: this.t("reason") })].concat(radios.map(function (r) {
          return h("label", {}, [r, self.t(r.value)]);
        }))),
        h("label", { class: "ic-label" }, [this.t("details"), details]),
        note,
        h("div", { class: "ic-row" }, [h("button", { class: "ic-btn ic-btn-ghost", type: "button", text: this.t("cancel"), onclick: function () { self.closeDialog(); } }), send])]);
      this.showDialog(form, back, { message: m.id, refused: function (text) { note.textContent = text; send.disabled = false; } });
      radios[0].focus();
    };

    /* A modal dialog over the chat: Tab stays in it; Esc or its buttons close it, and
       focus goes back to ``back``. */
    Chat.prototype.showDialog = function (box, back, more) {
      var self = this;
      this.closeDialog(true);
      var layer = h("div", { class: "ic-dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "ic-dialog-title", onkeydown: function (event) {
        var radios = layer.querySelectorAll("input[type=radio]");
        var radio = [].filter.call(radios, function (e) { return e.checked; })[0] || radios[0];   // a radio group is one stop
        var all = [].filter.call(layer.querySelectorAll("button, input, textarea"), function (e) { return !e.disabled && (e.type !== "radio" || e === radio); });
        if (event.key === "Escape") { event.preventDefault(); self.closeDialog(); }
        if (event.key === "Tab" && (event.shiftKey ? event.target === all[0] : event.target === all[all.length - 1])) {
          event.preventDefault();
          all[event.shiftKey ? all.length - 1 : 0].focus();
        }
      } }, [box]);
      this.dialog = Object.assign({ node: layer, back: back }, more);
      this.el.panel.appendChild(layer);
    };

    Chat.prototype.closeDialog = function (quiet) {
      var d = this.dialog;
      if (!d) { return; }
      this.dialog = null;
      d.node.remove();
      if (!quiet) { (d.back.isConnected ? d.back : this.el.messages).focus({ preventScroll: true }); }
    };

    Chat.prototype.on_reported = function (frame) {
      if (this.dialog && this.dialog.message === frame.message_id) { this.closeDialog(); }
      this.toast(this.t("reportSent"));
    };

    var onError = Chat.prototype.on_error;
    Chat.prototype.on_error = function (frame) {
      if (frame.ref === "report" && this.dialog && this.dialog.refused) { this.dialog.refused(frame.message); }
      onError.call(this, frame);
    };

    /* -- reports, for a room's admins and moderators: the open reports of their rooms
          (or one room), new ones as they come; each with the message, who reported it
          and why, and what to do: see it, delete it, ban its author. */

    Chat.prototype.openReports = function (roomId) {
      var self = this;
      var r = this.reportsView = { room: typeof roomId === "number" ? roomId : null, seen: {}, next: null };
      r.status = h("p", { class: "ic-none", role: "status", tabindex: "-1" });
      r.list = h("ul", { class: "ic-results", "aria-label": this.t("reports") });
      r.more = h("button", { class: "ic-btn ic-btn-ghost ic-hidden", type: "button", text: this.t("showMore"), onclick: function () { self.askReports(true); } });
      this.showForm("reports", this.t("reports"), [r.status, r.list, r.more], r.room);
      this.askReports(false);
      r.status.focus();
    };

    Chat.prototype.askReports = function (more) {
      var r = this.reportsView;
      var frame = { type: "reports" };
      if (r.room) { frame.room_id = r.room; }
      if (more) { frame.after = r.next; }
      this.send(frame);
    };

    Chat.prototype.on_reports = function (frame) {
      var self = this;
      var r = this.reportsView;
      if (!r || this.formKind !== "reports") { return; }
      frame.reports.forEach(function (report) { self.addReport(report, false); });
      r.next = frame.next;
      r.more.classList.toggle("ic-hidden", frame.next === null || frame.next === undefined);
      r.status.textContent = r.list.children.length ? "" : this.t("noReports");
    };

    Chat.prototype.on_report = function (frame) {
      var report = frame.report;
      var r = this.reportsView;
      var room = this.rooms[report.room_id];
      if (r && this.formKind === "reports" && (!r.room || r.room === report.room_id)) {
        this.addReport(report, true);
        r.status.textContent = "";
      } else {
        this.toast(lib.fill(this.t("newReport"), { room: room ? this.roomTitle(room) : "#" + report.room_id }));
      }
    };

    Chat.prototype.addReport = function (report, first) {
      var self = this;
      var r = this.reportsView;
      var m = report.message;
      var room = this.rooms[report.room_id];
      if (r.seen[report.id]) { return; }
      r.seen[report.id] = true;
      var done = h("p", { class: "ic-none", role: "status" });
      var buttons = [];
      var act = function (frame, question) {
        return function () {
          if (!window.confirm(question) || !self.send(frame)) { return; }
          item.classList.add("ic-done");
          buttons.forEach(function (b) { if (b.getAttribute("data-act")) { b.disabled = true; } });
          done.textContent = self.t("handled");
        };
      };
      buttons = [
        h("button", { class: "ic-btn ic-btn-ghost", type: "button", text: this.t("showMessage"), onclick: function () { self.jumpTo(report.room_id, m.seq); } }),
        m.deleted_at ? null : h("button", { class: "ic-btn ic-btn-ghost", type: "button", "data-act": "delete", text: this.t("deleteMessage"),
          onclick: act({ type: "delete", message_id: m.id }, this.t("confirmDelete")) }),
        h("button", { class: "ic-btn ic-btn-ghost", type: "button", "data-act": "ban", text: this.t("banAuthor"),
          onclick: act({ type: "moderate", action: "ban", room_id: report.room_id, user_id: m.user_id }, lib.fill(this.t("confirmBan"), { name: m.user_name })) })
      ].filter(Boolean);
      var when = seconds(report.created_at);
      var item = h("li", { class: "ic-report", "data-report": String(report.id) }, [
        h("div", { class: "ic-result-top" }, [h("b", { text: room ? this.roomTitle(room) : "#" + report.room_id }),
          when ? h("span", { class: "ic-room-time", text: this.dayLabel(when) + " " + this.clock(when) }) : null]),
        h("div", { class: "ic-quote", text: m.user_name + ": " + this.preview(m) }),
        h("div", { class: "ic-reason", text: lib.fill(this.t("reportedBy"), { name: report.reporter.name }) + ": " + report.reason }),
        h("div", { class: "ic-row" }, buttons), done]);
      r.list.insertBefore(item, first ? r.list.firstChild : null);
    };

    /* -- the people the user blocked, in the settings: each with Unblock; pages of 50. */

    Chat.prototype.buildBlocked = function () {
      var self = this;
      var c = this.controls;
      c.blocked = h("ul", { class: "ic-blocked-list" });
      c.blockedMore = h("button", { class: "ic-btn ic-btn-ghost ic-hidden", type: "button", text: this.t("showMore"),
        onclick: function () { self.send({ type: "blocked_users", after: c.blockedNext }); } });
      c.blockedTitle = h("span", { id: "ic-set-blocked", class: "ic-set-title", tabindex: "-1", text: this.t("blockedUsers") });
      this.el.settings.appendChild(h("div", { class: "ic-blocked", role: "group", "aria-labelledby": "ic-set-blocked" }, [c.blockedTitle, c.blocked, c.blockedMore]));
      if (Object.keys(this.rooms).some(function (id) { return staff(self.rooms[id]) && self.rooms[id].type !== lib.ROOM_TYPE.dialog; })) {
        this.el.settings.appendChild(h("button", { class: "ic-btn ic-btn-ghost ic-reports-btn", type: "button", text: this.t("reports"), onclick: function () { self.openReports(); } }));
      }
      this.askBlocked();
    };

    Chat.prototype.askBlocked = function () {
      this.controls.blockedShown = this.blocked.join();
      this.controls.blockedFirst = true;
      this.send({ type: "blocked_users" });
    };

    Chat.prototype.on_blocked_users = function (frame) {
      var self = this;
      var c = this.controls;
      if (!c || !c.blocked || !this.settingsOpen) { return; }
      var focused = c.blocked.contains(this.host.shadowRoot.activeElement);
      if (c.blockedFirst) { c.blocked.textContent = ""; c.blockedFirst = false; }
      frame.users.forEach(function (u) {
        c.blocked.appendChild(h("li", { class: "ic-pick", "data-user": String(u.user_id) }, [lib.avatar(u, true), h("span", { class: "ic-grow", text: u.name }),
          h("button", { class: "ic-btn ic-btn-ghost", type: "button", text: self.t("unblock"), "aria-label": self.t("unblock") + " " + u.name,
            onclick: function () { self.send({ type: "unblock_user", user_id: u.user_id }); } })]));
      });
      if (!c.blocked.children.length) { c.blocked.appendChild(h("li", { class: "ic-none", text: this.t("noBlocked") })); }
      c.blockedNext = frame.next;
      c.blockedMore.classList.toggle("ic-hidden", frame.next === null || frame.next === undefined);
      if (focused) { (c.blocked.querySelector("button") || c.blockedTitle).focus(); }   // the row unblocked went
    };

    return CSS;
  });
})();
