/* imbachat widget, issue 21's part: calls in dialogs. widget.js draws the call
   button in a dialog's header and loads this script when it is pressed, when a call
   rings (the first "call" frame) or when a call's record is shown; the rest is here:
   the choice of a video or an audio call, the ringing (sound, and a desktop
   notification where allowed), the call's window (the other's video and ours, a
   timer, mute, camera, screen sharing, hang up), the browsers' connection (WebRTC:
   the caller offers, the callee answers, signals go through the chat's socket, and
   the caller restarts ICE when either comes back after a reconnect), and the
   records of calls said in the chat's language. No build step; user text is only
   ever set as text. */
(function () {
  "use strict";
  var CSS = /*__CSS__*/"";
  // The English strings only this part uses (the widget has the rest built in).
  var EN = /*__EN__*/{};
  var api = window.ImbaChat;
  if (!api || typeof api.__calls !== "function") { return; }

  api.__calls(function (lib) {
    var Chat = lib.Chat;
    var h = lib.h;
    Object.assign(lib.EN, EN);
    var ICONS = {
      mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3",
      cam: "M3 7h12v10H3zM15 10l6-3v10l-6-3",
      screen: "M3 4h18v12H3zM8 20h8M12 16v4",
      end: "M3 14c5-5 13-5 18 0l-2.5 2.5-3.5-1.5v-2.5a9 9 0 0 0-6 0V15l-3.5 1.5z"
    };

    function duration(seconds) {
      var s = Math.max(0, Math.floor(seconds));
      return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
    }

    /* A call's record in a dialog, in the chat's language: "Video call, 4:12". */
    Chat.prototype.callText = function (m) {
      var c = m.call;
      if (c.outcome === "completed") { return this.t(c.kind === "audio" ? "callAudioRecord" : "callVideoRecord").replace("{d}", duration(c.duration)); }
      return this.t({ declined: "callDeclined", failed: "callFailed" }[c.outcome] || "callMissed");
    };
    var preview = Chat.prototype.preview;
    Chat.prototype.preview = function (m) { return m && m.call && !m.deleted_at ? this.callText(m) : preview.apply(this, arguments); };

    /* After a reconnect, the call goes on from the new socket. */
    var ready = Chat.prototype.on_ready;
    Chat.prototype.on_ready = function (frame) {
      ready.call(this, frame);
      if (this.call && this.call.id) { this.send({ type: "call_resume", call_id: this.call.id }); }
    };

    /* The header's call button: a menu of a video call and an audio call. */
    Chat.prototype.startCall = function (anchor) {
      var self = this;
      var room = this.rooms[this.current];
      if (!room || this.call) { if (this.call && this.call.box) { this.call.box.querySelector("button").focus(); } return; }
      this.closeCallMenu();
      var item = function (kind, label) {
        return h("button", { type: "button", role: "menuitem", text: self.t(label), onclick: function () { self.closeCallMenu(); self.placeCall(room, kind); } });
      };
      var menu = this.callMenu = h("div", { class: "ic-call-pick", role: "menu", "aria-label": this.t("call"), onkeydown: function (event) {
        var all = [].slice.call(menu.querySelectorAll("button"));
        var at = all.indexOf(event.target);
        if (event.key === "ArrowDown" || event.key === "ArrowUp") { event.preventDefault(); all[(at + (event.key === "ArrowDown" ? 1 : all.length - 1)) % all.length].focus(); }
        if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); self.closeCallMenu(); anchor.focus(); }
      }, onfocusout: function (event) { if (!menu.contains(event.relatedTarget)) { self.closeCallMenu(); } } },
      [item("video", "callVideo"), item("audio", "callAudio")]);
      this.el.panel.appendChild(menu);
      menu.firstChild.focus();
    };

    Chat.prototype.closeCallMenu = function () {
      var menu = this.callMenu;
      this.callMenu = null;   // first: removing it moves the focus, which closes it again
      if (menu) { menu.remove(); }
    };

    Chat.prototype.media = function (kind) {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return Promise.reject(new Error("no media")); }
      return navigator.mediaDevices.getUserMedia({ audio: true, video: kind === "video" });
    };

    /* The caller: camera and microphone first (the browser may ask), then the call. */
    Chat.prototype.placeCall = function (room, kind) {
      var self = this;
      var other = this.other(room);
      this.call = { room_id: room.id, kind: kind, incoming: false, state: "calling", peer: other ? other.name : room.name, chain: Promise.resolve(), queue: [] };
      var call = this.call;
      this.callBox(true);
      this.media(kind).then(function (stream) {
        if (self.call !== call) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
        call.stream = stream;
        self.callRender();
        self.send({ type: "call_invite", room_id: room.id, kind: kind });
      }, function () { self.endCall(); self.toast(self.t("callNoMedia")); });
    };

    Chat.prototype.on_call = function (frame) {
      var c = frame.call;
      var me = this.me && this.me.user_id;
      var call = this.call;
      var mine = !!call && (call.id === c.id || (!call.id && !call.incoming && c.caller_id === me && c.room_id === call.room_id && (frame.here || !!frame.ice_servers)));
      if (mine && !call.id) { call.id = c.id; }
      if (mine && frame.ice_servers) { call.ice = frame.ice_servers; }
      if (c.state === "ended") {
        if (mine) {
          if (c.outcome === "busy") { this.toast(this.t("callBusy")); }
          this.endCall();
        }
        return;
      }
      if (!mine) {
        if (c.state === "ringing" && c.callee_id === me && !call) { this.ringing(c); }
        return;
      }
      if (c.state === "active") {
        if (!frame.here) {   // answered on another tab of the user: this one stops ringing
          if (call.incoming) { this.endCall(); }
          return;
        }
        call.state = "active";
        this.stopRinging();
        if (!call.pc && call.ice && call.stream) {
          this.callPeer();
          if (!call.incoming) { this.offer(false); }
        } else if (call.pc && frame.change === "resumed" && !call.incoming && !frame.ice_servers) {
          // Signals may have been lost meanwhile: new ICE, new offer. Once: a caller
          // back on a new socket also gets the answer to its call_resume (with the
          // ICE servers), which is not a second reason to restart.
          this.offer(true);
        }
      }
      this.callRender();
    };

    /* A refused invite or answer (busy, blocked, too many calls…): the call is over
       here too, and the camera and microphone are let go. */
    var onError = Chat.prototype.on_error;
    Chat.prototype.on_error = function (frame) {
      var call = this.call;
      if (call && ((frame.ref === "call_invite" && !call.incoming && !call.id) || (frame.ref === "call_accept" && call.incoming))) { this.endCall(); }
      return onError.apply(this, arguments);
    };

    Chat.prototype.on_call_signal = function (frame) {
      var call = this.call;
      if (!call || call.id !== frame.call_id) { return; }
      if (!call.pc) { call.queue.push(frame.signal); return; }
      this.takeSignal(frame.signal);
    };

    /* Signals are taken one after another: a candidate waits for the description. */
    Chat.prototype.takeSignal = function (signal) {
      var self = this;
      var call = this.call;
      var pc = call.pc;
      call.chain = call.chain.then(function () {
        if (signal.description) {
          var d = signal.description;
          return pc.setRemoteDescription(d).then(function () {
            if (d.type !== "offer") { return null; }
            return pc.createAnswer().then(function (answer) { return pc.setLocalDescription(answer); }).then(function () { self.sendDescription(); });
          });
        }
        return pc.addIceCandidate(signal.candidate);
      }).catch(function (error) { console.warn("imbachat: call signal", error); });
    };

    Chat.prototype.sendSignal = function (signal) {
      if (this.call && this.call.id) { this.send({ type: "call_signal", call_id: this.call.id, signal: signal }); }
    };

    Chat.prototype.sendDescription = function () {
      var d = this.call && this.call.pc && this.call.pc.localDescription;
      if (d) { this.sendSignal({ description: { type: d.type, sdp: d.sdp } }); }
    };

    Chat.prototype.offer = function (restart) {
      var self = this;
      var pc = this.call.pc;
      this.call.chain = this.call.chain.then(function () {
        return pc.createOffer(restart ? { iceRestart: true } : {}).then(function (offer) { return pc.setLocalDescription(offer); }).then(function () { self.sendDescription(); });
      }).catch(function (error) { console.warn("imbachat: call offer", error); });
    };

    /* The browsers' connection, with the ICE servers the server gave for this call. */
    Chat.prototype.callPeer = function () {
      var self = this;
      var call = this.call;
      var pc = call.pc = new RTCPeerConnection({ iceServers: call.ice || [] });
      call.stream.getTracks().forEach(function (track) { pc.addTrack(track, call.stream); });
      pc.onicecandidate = function (event) { if (event.candidate && self.call === call) { self.sendSignal({ candidate: event.candidate.toJSON() }); } };
      pc.ontrack = function (event) {
        var remote = call.box && call.box.querySelector(".ic-call-remote");
        if (!remote) { return; }
        remote.srcObject = event.streams[0] || new MediaStream([event.track]);
        var playing = remote.play();
        if (playing && playing.catch) { playing.catch(function () {}); }
      };
      pc.onconnectionstatechange = function () {
        if (self.call !== call) { return; }
        if (pc.connectionState === "connected") {
          clearTimeout(call.failing);
          call.failing = null;
          if (!call.since) { call.since = Date.now(); call.timer = setInterval(function () { self.callRender(); }, 1000); }
        }
        if (pc.connectionState === "failed" && !call.failing) {
          if (!call.incoming) { self.offer(true); }
          call.failing = setTimeout(function () { if (self.call === call) { self.hangUp("failed"); } }, 15000);
        }
        self.callRender();
      };
      var queued = call.queue.splice(0);
      queued.forEach(function (signal) { self.takeSignal(signal); });
      // Browsers that never connect (no route, a TURN server missing) give up in time.
      call.connecting = setTimeout(function () { if (self.call === call && !call.since) { self.hangUp("failed"); } }, 30000);
    };

    /* A call for the user: every tab of theirs rings until one answers. */
    Chat.prototype.ringing = function (c) {
      var self = this;
      var room = this.rooms[c.room_id];
      var caller = room && this.member(room, c.caller_id);
      this.call = { id: c.id, room_id: c.room_id, kind: c.kind, incoming: true, state: "ringing", peer: caller ? caller.name : "User " + c.caller_id, chain: Promise.resolve(), queue: [] };
      this.callBox(false);
      if (this.soundOn()) {
        var ring = this.call.ring = new Audio(lib.SOUND);
        var again = function () { ring.currentTime = 0; var p = ring.play(); if (p && p.catch) { p.catch(function () {}); } };
        again();
        this.call.ringer = setInterval(again, 1400);
      }
      if (this.desktop() === "granted" && this.pref("desktop") !== false && (document.hidden || !this.panelOpen)) {
        try {
          var note = this.call.note = new Notification(this.t("callIncoming"), { body: this.call.peer, tag: "imbachat-call-" + c.id, requireInteraction: true });
          note.onclick = function () { window.focus(); self.open(); note.close(); };
        } catch (e) { /* notifications from a service worker only, on this browser */ }
      }
    };

    Chat.prototype.stopRinging = function () {
      var call = this.call;
      if (!call) { return; }
      clearInterval(call.ringer);
      if (call.ring) { call.ring.pause(); call.ring = null; }
      if (call.note) { call.note.close(); call.note = null; }
    };

    Chat.prototype.acceptCall = function () {
      var self = this;
      var call = this.call;
      this.stopRinging();
      call.state = "connecting";
      this.callRender();
      this.media(call.kind).then(function (stream) {
        if (self.call !== call) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
        call.stream = stream;
        self.callRender();
        self.send({ type: "call_accept", call_id: call.id });
      }, function () { self.send({ type: "call_decline", call_id: call.id }); self.endCall(); self.toast(self.t("callNoMedia")); });
    };

    Chat.prototype.declineCall = function () {
      if (this.call) { this.send({ type: "call_decline", call_id: this.call.id }); }
      this.endCall();
    };

    Chat.prototype.hangUp = function (reason) {
      var call = this.call;
      if (call && call.id) { this.send({ type: "call_end", call_id: call.id, reason: reason === "failed" ? "failed" : "hangup" }); }
      this.endCall();
    };

    Chat.prototype.endCall = function () {
      var call = this.call;
      if (!call) { return; }
      this.stopRinging();
      clearInterval(call.timer);
      clearTimeout(call.failing);
      clearTimeout(call.connecting);
      [call.stream, call.screen].forEach(function (stream) { if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); } });
      if (call.pc) { call.pc.close(); }
      var hadFocus = call.box && call.box.contains(this.host.shadowRoot.activeElement);
      if (call.box) { call.box.remove(); }
      this.call = null;
      if (hadFocus && this.panelOpen) { this.focusInside(); }
    };

    /* Mute, camera off: the track stays, it sends silence or black. */
    Chat.prototype.toggleTrack = function (kind) {
      var call = this.call;
      var tracks = call && call.stream ? (kind === "audio" ? call.stream.getAudioTracks() : call.stream.getVideoTracks()) : [];
      var on = kind === "audio" ? (call.muted = !call.muted) : (call.cameraOff = !call.cameraOff);
      tracks.forEach(function (t) { t.enabled = !on; });
      this.callRender();
    };

    /* The screen instead of the camera, until the user stops it (here or in the
       browser's own bar); then the camera again. */
    Chat.prototype.toggleShare = function () {
      var self = this;
      var call = this.call;
      var sender = call && call.pc && call.pc.getSenders().filter(function (s) { return s.track && s.track.kind === "video"; })[0];
      var camera = call && call.stream && call.stream.getVideoTracks()[0];
      if (!sender || !camera) { return; }
      var stop = function () {
        if (!call.screen) { return; }
        call.screen.getTracks().forEach(function (t) { t.stop(); });
        call.screen = null;
        sender.replaceTrack(camera);
        self.showLocal(call.stream);
        self.callRender();
      };
      if (call.screen) { stop(); return; }
      navigator.mediaDevices.getDisplayMedia({ video: true }).then(function (screen) {
        if (self.call !== call) { screen.getTracks().forEach(function (t) { t.stop(); }); return; }
        call.screen = screen;
        var track = screen.getVideoTracks()[0];
        track.onended = stop;
        sender.replaceTrack(track);
        self.showLocal(screen);
        self.callRender();
      }, function () { /* the user chose nothing */ });
    };

    Chat.prototype.showLocal = function (stream) {
      var local = this.call && this.call.box && this.call.box.querySelector(".ic-call-local");
      if (local && local.srcObject !== stream) { local.srcObject = stream; }
    };

    /* The call's window: over the page, the chat open or not (a phone: the screen). */
    Chat.prototype.callBox = function (focus) {
      var self = this;
      var call = this.call;
      var button = function (cls, label, icon, action) {
        return h("button", { class: "ic-call-ctl " + cls, type: "button", "aria-label": self.t(label), title: self.t(label), onclick: action }, [lib.svgIcon(icon)]);
      };
      call.box = h("div", { class: "ic-callbox", role: "dialog", "aria-label": this.t(call.kind === "audio" ? "callAudio" : "callVideo") + ": " + call.peer,
        "data-kind": call.kind, onkeydown: function (event) { if (event.key === "Escape") { event.stopPropagation(); } } }, [
        h("div", { class: "ic-call-videos" }, [
          h("video", { class: "ic-call-remote", autoplay: true, playsinline: true }),
          h("video", { class: "ic-call-local", autoplay: true, playsinline: true, muted: true })]),
        h("div", { class: "ic-call-info" }, [h("strong", { class: "ic-call-peer", text: call.peer }), h("span", { class: "ic-call-status", role: "status" }),
          h("span", { class: "ic-call-timer" })]),   // not in the live region: it would be read out every second
        h("div", { class: "ic-call-buttons ic-call-ringing" }, [
          h("button", { class: "ic-btn ic-call-accept", type: "button", text: this.t("callAccept"), onclick: function () { self.acceptCall(); } }),
          h("button", { class: "ic-btn ic-call-decline", type: "button", text: this.t("callDecline"), onclick: function () { self.declineCall(); } })]),
        h("div", { class: "ic-call-buttons ic-call-controls" }, [
          button("ic-call-mic", "callMute", ICONS.mic, function () { self.toggleTrack("audio"); }),
          call.kind === "video" ? button("ic-call-cam", "callCamera", ICONS.cam, function () { self.toggleTrack("video"); }) : null,
          call.kind === "video" && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia ? button("ic-call-share", "callShare", ICONS.screen, function () { self.toggleShare(); }) : null,
          button("ic-call-end", "callHangUp", ICONS.end, function () { self.hangUp(); })])]);
      call.box.querySelector(".ic-call-local").muted = true;   // the attribute alone does not mute a stream
      this.el.root.appendChild(call.box);
      this.callRender();
      // A call placed by the user takes the focus; one ringing does not take it from the page.
      if (focus) { call.box.querySelector(".ic-call-end").focus({ preventScroll: true }); }
      if (!this.leaving) {   // a page left ends its call at once (the other side would wait out the grace)
        this.leaving = true;
        window.addEventListener("pagehide", function () { if (self.call && self.call.id) { self.send({ type: "call_end", call_id: self.call.id }); } });
      }
    };

    Chat.prototype.callRender = function () {
      var call = this.call;
      var box = call && call.box;
      if (!box) { return; }
      var pc = call.pc;
      var ringing = call.incoming && call.state === "ringing";
      box.setAttribute("data-state", pc ? pc.connectionState : call.state);
      box.querySelector(".ic-call-ringing").classList.toggle("ic-hidden", !ringing);
      box.querySelector(".ic-call-controls").classList.toggle("ic-hidden", ringing);
      var status = ringing ? this.t("callIncoming") : call.since ? this.t("callConnected")
        : call.state === "calling" ? this.t("callCalling") : this.t("callConnecting");
      var shown = box.querySelector(".ic-call-status");
      if (shown.textContent !== status) { shown.textContent = status; }
      box.querySelector(".ic-call-timer").textContent = call.since ? duration((Date.now() - call.since) / 1000) : "";
      if (call.stream && !call.screen) { this.showLocal(call.stream); }
      [["ic-call-mic", call.muted], ["ic-call-cam", call.cameraOff], ["ic-call-share", !!call.screen]].forEach(function (pair) {
        var node = box.querySelector("." + pair[0]);
        if (node) { node.setAttribute("aria-pressed", String(!!pair[1])); }
      });
      var share = box.querySelector(".ic-call-share");
      if (share) { share.disabled = !pc; }
    };

    return CSS;
  });
})();
