/* imbachat widget, second part: what is used on demand. widget.js loads this script
   the first time one of these is used and hands it what it needs through
   ImbaChat.__more: the settings panel (the gear in the chat's header), the offer of
   notifications after the user's first message, the new-conference form, the image
   viewer, and what widget.js seldom needs: the public-chat block, desktop
   notifications, people found, new names, a phone's page lock, a new token, the
   uploads of the composer's files. No build step; user text is only ever set as
   text. */
(function () {
  "use strict";
  var CSS = /*__CSS__*/"";
  // The English strings only these parts use (the widget has the rest built in).
  var EN = /*__EN__*/{};
  var api = window.ImbaChat;
  if (!api || typeof api.__more !== "function") { return; }

  api.__more(function (lib) {
    var Chat = lib.Chat;
    var h = lib.h;
    Object.assign(lib.EN, EN);
    var EMAIL = { all: "emailAll", mentions: "emailMentions", never: "emailNever" };

    /* -- settings: how the user is told of new messages ----------------------------- */

    /* On phones the panel is a level of the browser's history, as a room is: the back
       gesture closes it (widget.js, onHistory). */
    Chat.prototype.openSettings = function () {
      if (!this.settingsOpen && this.historyDepth) {
        history.pushState({ imbachat: "settings" }, "");
        this.historyDepth += 1;
        this.settingsPushed = true;
      }
      this.settingsOpen = true;
      this.buildSettings();
      this.render();
      var shown = [].filter.call(this.el.settings.querySelectorAll("input, button"), function (e) { return e.getClientRects().length; });
      shown[0].focus();
    };

    Chat.prototype.closeSettings = function (fromHistory) {
      if (fromHistory !== true && this.settingsPushed) { history.back(); return; }   // popstate closes
      this.settingsOpen = this.settingsPushed = false;
      this.render();
      this.el.gear.focus();
    };

    /* A sound (unless the owner turned sounds off) and desktop notifications, both this
       browser's; e-mail, kept on the server: the choice goes there, and what it keeps
       shows (its alerts frame). */
    Chat.prototype.buildSettings = function () {
      var self = this;
      var box = this.el.settings;
      var c = this.controls = {};
      box.textContent = "";
      c.sound = h("input", { type: "checkbox", onchange: function () { self.pref("sound", c.sound.checked); } });
      c.soundRow = h("label", { class: "ic-check" }, [c.sound, this.t("sound")]);
      c.desktop = h("div", { class: "ic-set", role: "group", "aria-labelledby": "ic-set-desktop" });
      c.desktopState = null;
      c.email = Object.keys(EMAIL).map(function (value) {
        return h("input", { type: "radio", name: "ic-email", value: value, onchange: function () {
          if (!self.send({ type: "alerts", email: value })) { self.toast(self.t("connecting")); self.syncSettings(); }
        } });
      });
      [c.soundRow, c.desktop, h("fieldset", { class: "ic-set" }, [h("legend", { text: this.t("email") })].concat(c.email.map(function (input) {
        return h("label", { class: "ic-check" }, [input, self.t(EMAIL[input.value])]);
      })))].forEach(function (node) { box.appendChild(node); });
      if (!this.guest) { this.buildBlocked(); }   // the people the user blocked, and the reports for room staff
      this.syncSettings();
    };

    /* The controls show the current state, however it changed: here, in another tab,
       on the server, or in the browser's permissions. */
    Chat.prototype.syncSettings = function () {
      var self = this;
      var c = this.controls;
      c.soundRow.classList.toggle("ic-hidden", this.alerts.sound === false);
      c.sound.checked = this.soundOn();
      c.email.forEach(function (input) { input.checked = input.value === self.alerts.email; });
      if (c.desktopState !== this.desktop()) { this.buildDesktop(this.desktop()); }
      if (c.show) { c.show.checked = this.pref("desktop") !== false; }
      if (c.blocked && c.blockedShown !== this.blocked.join()) { this.askBlocked(); }   // blocked or unblocked meanwhile
    };

    /* Desktop notifications: on or off once allowed; else why not, and (not asked
       yet) the button that asks. */
    Chat.prototype.buildDesktop = function (state) {
      var self = this;
      var c = this.controls;
      var group = c.desktop;
      var focused = group.contains(this.host.shadowRoot.activeElement);
      var said = { "default": "desktopOff", denied: "desktopBlocked", none: "desktopNone" }[state];
      c.desktopState = state;
      c.show = state === "granted" ? h("input", { type: "checkbox", onchange: function () { self.pref("desktop", c.show.checked); } }) : null;
      group.textContent = "";
      group.appendChild(h("span", { id: "ic-set-desktop", class: "ic-set-title", text: this.t("desktop") }));
      group.appendChild(c.show ? h("label", { class: "ic-check" }, [c.show, this.t("desktopShow")]) : h("p", { text: this.t(said) }));
      if (state === "default") {
        group.appendChild(h("button", { class: "ic-btn", type: "button", text: this.t("allow"), onclick: function () { self.allowDesktop(); } }));
      }
      var next = group.querySelector("input, button");
      if (focused && next) { next.focus(); }   // the button went: focus stays in the group
    };

    /* The browser asks only when the user says so: the settings' button, or the offer. */
    Chat.prototype.allowDesktop = function () {
      var self = this;
      var done = function () {
        if (self.asking) { self.asking.remove(); self.asking = null; }
        self.render();
      };
      this.pref("asked", true);
      if (this.desktop() !== "default") { done(); return; }
      Promise.resolve(Notification.requestPermission()).then(function () { self.pref("desktop", true); }).then(done, done);
    };

    /* Below the composer, once: would the user like a notification when someone answers? */
    Chat.prototype.offerDesktop = function () {
      var self = this;
      if (this.asking || this.desktop() !== "default" || this.pref("asked")) { return; }
      this.asking = h("div", { class: "ic-ask" }, [h("span", { text: this.t("askNotify") }),
        h("button", { class: "ic-btn ic-btn-ghost", type: "button", text: this.t("allow"), onclick: function () { self.allowDesktop(); } }),
        h("button", { class: "ic-icon-btn", type: "button", text: "×", "aria-label": this.t("notNow"), onclick: function () {
          self.pref("asked", true);
          self.asking.remove();
          self.asking = null;
          self.el.input.focus();
        } })]);
      this.el.conv.appendChild(this.asking);
    };

    /* -- the new conference form ------------------------------------------------------ */

    Chat.prototype.showConferenceForm = function () {
      var self = this;
      var me = this.me;
      var people = {};
      Object.keys(this.rooms).forEach(function (id) {
        (self.rooms[id].members || []).forEach(function (m) { if (!me || m.user_id !== me.user_id) { people[m.user_id] = m; } });
      });
      var title = h("input", { type: "text", placeholder: this.t("title"), "aria-label": this.t("title"), maxlength: "255" });
      var picks = Object.keys(people).map(function (id) {
        var box = h("input", { type: "checkbox", value: id });
        return { box: box, row: h("label", { class: "ic-pick" }, [box, lib.avatar(people[id], true), people[id].name]) };
      });
      var form = this.el.form;
      form.textContent = "";
      form.appendChild(title);
      form.appendChild(h("b", { text: this.t("pick") }));
      if (!picks.length) { form.appendChild(h("p", { text: this.t("nobody") })); }
      picks.forEach(function (p) { form.appendChild(p.row); });
      form.appendChild(h("button", { class: "ic-btn", type: "button", text: this.t("create"), onclick: function () {
        var chosen = picks.filter(function (p) { return p.box.checked; }).map(function (p) { return Number(p.box.value); });
        self.formOpen = false;
        form.classList.add("ic-hidden");
        self.request({ type: "create_room", title: title.value.trim() || self.t("newConf"), room_type: 1, users_ids: chosen }).catch(function () {});
      } }));
      if (this.historyDepth === 1) { history.pushState({ imbachat: "form" }, ""); this.historyDepth = 2; }
      this.formOpen = true;
      this.formTitle = this.t("newConf");
      this.formKind = this.formRoom = null;
      form.classList.remove("ic-hidden");
      this.render();
      title.focus();
    };

    /* -- rarely needed: the public-chat block, notifications, people found, new names ---- */

    /* The plugins' public-chat block: the chat moves into the element and shows the
       public conference named by ``title`` (joined, or created on first use). */
    Chat.prototype.mountInline = function (elementId, title) {
      var self = this;
      return new Promise(function (resolve, reject) {
        var run = function () {
          self.params.container = elementId;
          if (title) { self.params.title = title; }
          if (self.el) {   // built already (else start() builds it there)
            self.host.remove();
            self.build(elementId);
            self.render();
          }
          if (!title) { resolve(); return; }
          var pipe = "public-" + String(title).trim().toLowerCase().replace(/\s+/g, "-").slice(0, 200);
          self.addToRoom({ pipe: pipe, title: String(title), is_public: 1, type: lib.ROOM_TYPE.conference }).then(resolve, reject);
        };
        if (self.params) { run(); } else { api.on("imbaChat.loaded", run); }
      });
    };

    /* One notification per room (a newer one replaces it); a click on it brings the
       window forward with that room open. */
    Chat.prototype.notify = function (room, m) {
      var self = this;
      var person = this.member(room, m.user_id);
      try {
        var note = new Notification(this.roomTitle(room), { tag: "imbachat-" + lib.IMBA_ID + "-" + room.id, lang: this.lang, dir: this.dir,
          body: ((room.type !== 0 && m.user_name ? m.user_name + ": " : "") + this.preview(m)).slice(0, 300),
          icon: lib.webUrl(person && person.avatar_url) || undefined });
        note.onclick = function () {
          window.focus();
          note.close();
          self.open();
          self.showRoom(room.id);
        };
      } catch (e) { /* phones: only a service worker may show notifications */ }
    };

    /* New names, avatars or statuses: members, message authors and the user themself. */
    Chat.prototype.on_users_updated = function (frame) {
      var self = this;
      var byId = {};
      frame.users.forEach(function (u) { byId[u.user_id] = u; });
      function refresh(person) {
        var u = person && byId[person.user_id];
        if (u) { person.name = u.name; person.avatar_url = u.avatar_url; person.status = u.status; person.profile_url = u.profile_url; }
      }
      refresh(this.me);
      Object.keys(this.rooms).forEach(function (id) {
        var room = self.rooms[id];
        (room.members || []).forEach(refresh);
        room.messages.concat(room.last_message ? [room.last_message] : []).forEach(function (m) {
          if (byId[m.user_id]) { m.user_name = byId[m.user_id].name; }
        });
      });
      this.render();
    };

    Chat.prototype.on_users_found = function (frame) {
      var self = this;
      var found = this.el && this.el.found;
      if (!found || frame.text !== this.el.findInput.value.trim()) { return; }   // a stale answer
      found.textContent = "";
      if (!frame.users.length) { found.appendChild(h("p", { class: "ic-none", text: this.t("noneFound") })); }
      frame.users.forEach(function (person) {
        found.appendChild(h("button", { class: "ic-person", type: "button", role: "listitem", "data-user": String(person.user_id),
          onclick: function () { found.textContent = ""; self.el.findInput.value = ""; self.openDialog(person.user_id); } },
          [lib.avatar(person, true), person.name]));
      });
    };


    /* -- phones: the page behind stays still; a new token ---------------------------------- */

    /* Overflow hidden alone still lets a finger scroll a phone's page, so the body is
       pinned where it was, and put back (styles and scroll position) on closing. */
    Chat.prototype.lockPage = function (lock) {
      var page = document.documentElement;
      var body = document.body;
      if (lock && !this.pageLock) {
        var y = window.scrollY;
        var probe = body.firstElementChild;
        var seen = probe ? probe.getBoundingClientRect().top : 0;
        // Our history entries are not pages: the browser must not restore a scroll on them.
        this.pageLock = { html: page.style.cssText, body: body.style.cssText, x: window.scrollX, y: y,
          restoration: history.scrollRestoration };
        history.scrollRestoration = "manual";
        page.style.overflow = "hidden";
        body.style.overflow = "hidden";
        body.style.position = "fixed";
        body.style.top = -y + "px";
        body.style.left = -this.pageLock.x + "px";
        body.style.right = "0";
        // A pinned body's margins stop collapsing into its first child's: undo the jump.
        var jump = probe ? probe.getBoundingClientRect().top - seen : 0;
        if (jump) { body.style.top = -y - jump + "px"; }
      } else if (!lock && this.pageLock) {
        page.style.cssText = this.pageLock.html;
        body.style.cssText = this.pageLock.body;
        window.scrollTo(this.pageLock.x, this.pageLock.y);
        if (this.pageLock.restoration) { history.scrollRestoration = this.pageLock.restoration; }
        this.pageLock = null;
      }
    };

    // The token expired or the widget's secret changed (close 4003): ask the host page
    // for a fresh token (params.getToken, a function returning a token or a Promise of
    // one) and resume; without one, tell the page (imbaChat.tokenExpired) and wait for
    // imbaChat.setToken(token).
    Chat.prototype.renewToken = function () {
      var self = this;
      this.stopped = true;
      api.notify("imbaChat.tokenExpired");
      if (typeof this.params.getToken !== "function") { this.toast(this.t("expired")); return; }
      Promise.resolve().then(function () { return self.params.getToken(); }).then(function (token) {
        if (!token) { throw new Error("getToken gave no token"); }
        self.setToken(token);
      }).catch(function (error) { console.error("imbachat:", error); self.toast(self.t("expired")); });
    };


    /* -- files: what the composer's tray does (widget.js renders the tray) ------------- */

    /* Files picked, dropped or pasted: each is checked here first (size, at most ten
       in a message), then uploaded with its progress shown. */
    Chat.prototype.addFiles = function (list) {
      var self = this;
      var max = this.files.max_bytes;
      if (!this.canAttach()) { return; }
      Array.prototype.forEach.call(list || [], function (file) {
        var u = { room: self.current, file: file, name: file.name || "image.png", size: file.size, node: h("div", { class: "ic-up" }) };
        var taken = self.roomUploads().filter(function (o) { return !o.error; }).length;
        u.error = taken >= 10 ? self.t("tooMany") : file.size > max ? lib.fill(self.t("tooLarge"), { name: u.name, max: self.size(max) })
          : !file.size ? lib.fill(self.t("unreadable"), { name: u.name }) : null;
        self.uploads.push(u);
        if (!u.error) { self.upload(u); }
        self.paintUpload(u);
      });
      this.renderTray();
    };

    /* XMLHttpRequest, for its upload progress; the socket's token says who uploads. */
    Chat.prototype.upload = function (u) {
      var self = this;
      var xhr = new XMLHttpRequest();
      var form = new FormData();
      form.append("file", u.file, u.name);
      xhr.open("POST", lib.SERVER + "/imbachat/v1/" + lib.IMBA_ID + "/files");
      xhr.setRequestHeader("JWT", this.params.token);
      xhr.upload.onprogress = function (event) { if (event.lengthComputable && u.bar) { u.bar.value = 100 * event.loaded / event.total; } };
      xhr.onload = xhr.onerror = function () {
        if (self.uploads.indexOf(u) < 0) { return; }   // removed meanwhile
        var answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: said by status */ }
        if (xhr.status === 201 && answer.data) { u.att = answer.data; } else { u.error = self.uploadError(xhr, answer, u); }
        self.paintUpload(u);
        self.renderTray();
      };
      u.xhr = xhr;
      xhr.send(form);
    };

    Chat.prototype.uploadError = function (xhr, answer, u) {
      var key = { 0: "uploadFailed", 413: u.size > this.files.max_bytes ? "tooLarge" : "full", 415: "refused", 422: "unreadable", 429: "slowDown" }[xhr.status];
      var text = key ? this.t(key) : answer.message ? "“{name}”: " + answer.message : this.t("uploadFailed");
      return lib.fill(text, { name: u.name, max: this.size(this.files.max_bytes), n: xhr.getResponseHeader("Retry-After") || "60" });
    };

    /* One file in the composer's tray: a preview, its name, then its progress (with a
       cancel button), its size (with a remove button) or why it cannot be sent. */
    Chat.prototype.paintUpload = function (u) {
      var self = this;
      var busy = lib.uploading(u);
      var image = !u.error && /^image\//.test(u.file.type);
      if (image && !u.preview && window.URL && URL.createObjectURL) { u.preview = URL.createObjectURL(u.file); }
      u.bar = busy ? h("progress", { max: "100", value: "0", "aria-label": lib.fill(this.t("uploading"), { name: u.name }) }) : null;
      u.node.className = "ic-up" + (u.error ? " ic-up-error" : "");
      u.node.textContent = "";
      [u.preview && image ? h("img", { src: u.preview, alt: "" }) : lib.fileIcon(u.name, u.file.type),
        h("div", { class: "ic-up-main" }, [h("span", { class: "ic-up-name", text: u.name }),
          u.bar || h("span", { class: "ic-up-note", role: u.error ? "alert" : null, text: u.error || this.size(u.att ? u.att.size : u.size) })]),
        h("button", { class: "ic-icon-btn", type: "button", text: "×", "aria-label": lib.fill(this.t(busy ? "cancelUpload" : "removeFile"), { name: u.name }),
          onclick: function () { self.dropUpload(u); self.renderTray(); self.el.input.focus(); } })
      ].forEach(function (node) { u.node.appendChild(node); });
    };

    Chat.prototype.dropUpload = function (u) {
      var at = this.uploads.indexOf(u);
      if (at >= 0) { this.uploads.splice(at, 1); }
      if (u.xhr && lib.uploading(u)) { u.xhr.abort(); }
      if (u.preview) { URL.revokeObjectURL(u.preview); }
    };

    /* -- the image viewer ------------------------------------------------------------- */

    /* The full image in a modal dialog over the page: Esc, the close button or a click
       beside the image close it, and focus goes back to the thumbnail. */
    Chat.prototype.view = function (room, a) {
      var self = this;
      if (this.viewer) { this.closeViewer(); }
      var link = h("a", { class: "ic-btn", href: lib.fileUrl(a.url), target: "_blank", rel: "noopener noreferrer", text: this.t("original") });
      var close = h("button", { class: "ic-icon-btn", type: "button", "aria-label": this.t("close"), text: "×", onclick: this.closeViewer.bind(this) });
      var viewer = h("div", { class: "ic-viewer", role: "dialog", "aria-modal": "true", "aria-labelledby": "ic-view-title",
        onclick: function (event) { if (event.target === viewer) { self.closeViewer(); } },
        onkeydown: function (event) {
          if (event.key === "Escape") { event.preventDefault(); self.closeViewer(); }
          if (event.key === "Tab") { event.preventDefault(); (event.target === close ? link : close).focus(); }   // focus stays inside
        } }, [
        h("div", { class: "ic-view-bar" }, [h("div", { id: "ic-view-title", class: "ic-view-title", text: a.name }), link, close]),
        h("img", { src: lib.fileUrl(a.url), alt: a.name, onerror: function () { self.refreshLinks(room); } })]);
      this.viewer = { node: viewer, file: a.id };
      this.el.root.appendChild(viewer);
      close.focus();
    };

    Chat.prototype.closeViewer = function () {
      var v = this.viewer;
      if (!v) { return; }
      this.viewer = null;
      v.node.remove();
      var back = this.el.messages.querySelector('.ic-thumb[data-file="' + v.file + '"]');
      if (back) { back.focus(); }
    };

    return CSS;
  });
})();
