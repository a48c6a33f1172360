/* imbachat widget, second part: what is used on demand. widget.js loads this script
   the first time one of these is used and hands it what it needs through
   ImbaChat.__more: the settings panel (the gear in the chat's header), the offer of
   notifications after the user's first message, the new-conference form, the image
   viewer. No build step; user text is only ever set as text. */
(function () {
  "use strict";
  var CSS = /*__CSS__*/"";
  var api = window.ImbaChat;
  if (!api || typeof api.__more !== "function") { return; }

  api.__more(function (lib) {
    var Chat = lib.Chat;
    var h = lib.h;
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
      form.classList.remove("ic-hidden");
      this.render();
      this.renderHeader(this.t("newConf"), "");
      title.focus();
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
