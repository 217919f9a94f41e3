/**
 * The field page's script, served as /field.js (a separate file, so the page's CSP can forbid
 * inline scripts: `script-src 'self'`). Plain ES2020 that the browser runs as is: no build step,
 * no CDN, no dependency. It is kept as a string here so `tsc` ships it inside dist/ with the rest.
 *
 * What it does, in order:
 *   1. Gathers candidates once with every configured STUN/TURN server (one RTCPeerConnection),
 *      keeping each candidate line, the server URL it came from (`event.url`) and the servers
 *      that reported an error (`icecandidateerror`). The nat-probe process, not the page, judges
 *      the mapping from these: same host socket, different servers, same or different ports.
 *   2. Speaks nat-probe's signaling protocol (src/signaling/PROTOCOL.md, v1) over a WebSocket to
 *      this same origin (/signal/<visit>): join, ice-params, candidates (trickled), end-of-candidates,
 *      result, bye. The nat-probe peer of this visit is the other member of the room.
 *   3. Runs ICE against it with the browser's own stack. The session description the page hands
 *      its RTCPeerConnection is built from nat-probe's ICE ufrag/pwd and carries a syntactically
 *      valid but meaningless DTLS fingerprint.
 *
 *      ONLY ICE IS TESTED. nat-probe does not speak DTLS, so after ICE connects the browser's
 *      DTLS handshake never completes and the connection as a whole later reports "failed".
 *      That is expected and says nothing about the customer's network: the page judges from
 *      iceConnectionState and the getStats() candidate pairs alone, and never shows the DTLS
 *      state to the customer.
 *   4. Sends what it saw (user agent, candidates, ICE states, candidate-pair stats) to this
 *      server (POST /v/<visit>/findings) and shows the one-sentence result the server answers.
 *
 * Nothing is sent anywhere but this server and the STUN/TURN servers it configured.
 */
export const FIELD_PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var main = document.getElementById('probe');
  var statusEl = document.getElementById('status');
  var resultEl = document.getElementById('result');
  var cfg = JSON.parse(main.getAttribute('data-config'));
  var t0 = performance.now();
  var findings = {
    v: 1,
    userAgent: String(navigator.userAgent || ''),
    // False when the browser has no WebRTC at all (turned off by policy or an extension).
    webrtc: typeof RTCPeerConnection === 'function',
    gather: { candidates: [], errors: [], ms: null, timedOut: false },
    ice: { role: cfg.browserRole, states: [], final: 'new', connectedMs: null, selectedPairId: null, pairs: [], candidates: [] },
    signaling: { errors: [] },
    errors: []
  };
  function say(text) { statusEl.textContent = text; }
  function elapsed() { return Math.round((performance.now() - t0) * 10) / 10; }
  function note(err) { findings.errors.push(String(err && err.message ? err.message : err).slice(0, 200)); }

  function candidateInfo(c, url) {
    return {
      candidate: c.candidate, url: url || '', type: c.type || '', protocol: c.protocol || '',
      address: c.address || '', port: c.port || 0, relatedAddress: c.relatedAddress || '',
      relatedPort: c.relatedPort || 0, relayProtocol: c.relayProtocol || ''
    };
  }

  // 1. Gathering with every server, for the mapping comparison and the TURN transports.
  function gatherProbe() {
    return new Promise(function (resolve) {
      var pc = new RTCPeerConnection({ iceServers: cfg.iceServers });
      var finished = false;
      function finish(timedOut) {
        if (finished) return;
        finished = true;
        findings.gather.ms = elapsed();
        findings.gather.timedOut = timedOut;
        // Chromium leaves event.url and candidate.relayProtocol empty; its stats name both.
        pc.getStats().then(function (report) {
          report.forEach(function (s) {
            if (s.type !== 'local-candidate') return;
            findings.gather.candidates.forEach(function (c) {
              if (c.address !== s.address || c.port !== s.port || c.type !== s.candidateType) return;
              if (!c.url && s.url) c.url = String(s.url);
              if (!c.relayProtocol && s.relayProtocol) c.relayProtocol = String(s.relayProtocol);
            });
          });
        }).catch(note).then(function () { pc.close(); resolve(); });
      }
      pc.onicecandidate = function (e) {
        if (!e.candidate) { finish(false); return; }
        if (e.candidate.candidate && findings.gather.candidates.length < 64) findings.gather.candidates.push(candidateInfo(e.candidate, e.url));
      };
      pc.onicecandidateerror = function (e) {
        // address/port name the local socket the failed request left from (null when hidden).
        if (findings.gather.errors.length < 32) findings.gather.errors.push({ url: String(e.url || ''), errorCode: e.errorCode || 0, errorText: String(e.errorText || ''), address: String(e.address || ''), port: e.port || 0 });
      };
      pc.createDataChannel('gather');
      pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); }).catch(function (err) { note(err); finish(false); });
      setTimeout(function () { finish(true); }, cfg.gatherTimeoutMs);
    });
  }

  // The remote description: one data-channel m-line (RFC 8841) with nat-probe's ICE
  // credentials (RFC 8839). The fingerprint only has to parse: no DTLS will follow (see above).
  function remoteSdp(params, kind) {
    return [
      'v=0', 'o=nat-probe 1 0 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
      'a=fingerprint:sha-256 ' + cfg.fingerprint,
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=mid:0',
      'a=sctp-port:5000', 'a=setup:' + (kind === 'offer' ? 'actpass' : 'active'),
      'a=ice-ufrag:' + params.ufrag, 'a=ice-pwd:' + params.pwd, ''
    ].join('\r\n');
  }

  function randomTieBreaker() {
    var words = new Uint32Array(2);
    crypto.getRandomValues(words);
    return ((BigInt(words[0]) << 32n) | BigInt(words[1])).toString();
  }

  // 2 and 3. Signaling and ICE against this visit's nat-probe peer.
  function runIce() {
    return new Promise(function (resolve) {
      var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
      var ws = new WebSocket(scheme + location.host + cfg.signalPath, 'nat-probe-signaling.v1');
      var pc = new RTCPeerConnection({ iceServers: cfg.iceServers });
      pc.createDataChannel('nat-probe');
      var seq = 0, lastIn = 0, paramsSent = false, remoteSet = false, peerHere = false, ended = false;
      var localQueue = [], remoteQueue = [], remoteEnded = false, natProbeResult = false, iceDone = false;
      function send(message) {
        if (ws.readyState !== 1) return;
        message.seq = ++seq;
        if (lastIn > 0) message.ack = lastIn;
        ws.send(JSON.stringify(message));
      }
      function control(message) { if (ws.readyState === 1) ws.send(JSON.stringify(message)); }
      function sendCandidate(line) {
        if (line === null) send({ type: 'end-of-candidates' });
        else send({ type: 'candidate', candidate: line });
      }
      function sendParams() {
        var sdp = pc.localDescription.sdp;
        var ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp), pwd = /^a=ice-pwd:(\S+)/m.exec(sdp);
        if (!ufrag || !pwd) { note('no ICE credentials in the local description'); return; }
        send({ type: 'ice-params', ufrag: ufrag[1], pwd: pwd[1], tieBreaker: randomTieBreaker() });
        paramsSent = true;
        localQueue.splice(0).forEach(sendCandidate);
      }
      function addRemote(line) {
        pc.addIceCandidate({ candidate: line, sdpMid: '0', sdpMLineIndex: 0 }).catch(note);
      }
      function remoteReady() {
        remoteSet = true;
        remoteQueue.splice(0).forEach(addRemote);
        if (remoteEnded) pc.addIceCandidate({ candidate: '', sdpMid: '0', sdpMLineIndex: 0 }).catch(function () { return undefined; });
      }
      function onPeer() {
        if (peerHere) return;
        peerHere = true;
        say('Testing the connection…');
        if (cfg.browserRole !== 'offerer') return;
        pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); }).then(sendParams).catch(note);
      }
      function onParams(params) {
        if (cfg.browserRole === 'offerer') {
          pc.setRemoteDescription({ type: 'answer', sdp: remoteSdp(params, 'answer') }).then(remoteReady).catch(note);
        } else {
          pc.setRemoteDescription({ type: 'offer', sdp: remoteSdp(params, 'offer') })
            .then(function () { remoteReady(); return pc.createAnswer(); })
            .then(function (answer) { return pc.setLocalDescription(answer); })
            .then(sendParams).catch(note);
        }
      }
      pc.onicecandidate = function (e) {
        var line = e.candidate ? e.candidate.candidate : null;
        if (line === '') return;
        if (paramsSent) sendCandidate(line); else localQueue.push(line);
      };
      pc.oniceconnectionstatechange = function () {
        var state = pc.iceConnectionState;
        findings.ice.states.push({ state: state, atMs: elapsed() });
        if ((state === 'connected' || state === 'completed') && findings.ice.connectedMs === null) {
          findings.ice.connectedMs = elapsed();
          iceDone = true;
          say('Connected. Collecting the results…');
          maybeEnd('connected');
        }
        if (state === 'failed') { iceDone = true; maybeEnd('failed'); }
      };
      // The visit ends when the browser's ICE has settled and nat-probe has sent its result
      // (it surveys every pair, so it may still be checking after the browser connected).
      function maybeEnd(why) { if (iceDone && natProbeResult) end(why); }
      function end(why) {
        if (ended) return;
        ended = true;
        findings.ice.final = pc.iceConnectionState;
        findings.ice.endedBecause = why;
        pc.getStats().then(function (report) {
          var candidates = {};
          report.forEach(function (s) {
            if (s.type === 'local-candidate' || s.type === 'remote-candidate') {
              candidates[s.id] = { id: s.id, side: s.type === 'local-candidate' ? 'local' : 'remote', candidateType: s.candidateType || '', address: s.address || '', port: s.port || 0, protocol: s.protocol || '', relayProtocol: s.relayProtocol || '', url: s.url || '' };
            }
            if (s.type === 'transport' && s.selectedCandidatePairId) findings.ice.selectedPairId = s.selectedCandidatePairId;
          });
          report.forEach(function (s) {
            if (s.type !== 'candidate-pair' || findings.ice.pairs.length >= 128) return;
            findings.ice.pairs.push({ id: s.id, state: s.state || '', nominated: !!s.nominated, localCandidateId: s.localCandidateId || '', remoteCandidateId: s.remoteCandidateId || '', currentRoundTripTimeMs: typeof s.currentRoundTripTime === 'number' ? s.currentRoundTripTime * 1000 : null, requestsSent: s.requestsSent || 0, responsesReceived: s.responsesReceived || 0 });
          });
          Object.keys(candidates).slice(0, 128).forEach(function (id) { findings.ice.candidates.push(candidates[id]); });
        }).catch(note).then(function () {
          send({ type: 'result', result: { v: 1, kind: 'browser', iceConnectionState: findings.ice.final } });
          send({ type: 'bye' });
          setTimeout(function () { try { ws.close(); } catch (e) { /* closed */ } pc.close(); resolve(); }, 50);
        });
      }
      ws.onmessage = function (e) {
        var m;
        try { m = JSON.parse(e.data); } catch (err) { note('bad frame from the server'); return; }
        if (typeof m.seq === 'number' && m.seq > lastIn) lastIn = m.seq;
        switch (m.type) {
          case 'joined':
            if (cfg.browserRole === 'offerer') fetch(cfg.goPath, { method: 'POST' }).catch(note);
            if (m.peers && m.peers.length > 0) onPeer();
            break;
          case 'peer-joined': onPeer(); break;
          case 'ice-params': onParams(m); break;
          case 'candidate': if (remoteSet) addRemote(m.candidate); else remoteQueue.push(m.candidate); break;
          case 'end-of-candidates':
            remoteEnded = true;
            if (remoteSet) pc.addIceCandidate({ candidate: '', sdpMid: '0', sdpMLineIndex: 0 }).catch(function () { return undefined; });
            break;
          case 'result': natProbeResult = true; maybeEnd(pc.iceConnectionState); break;
          case 'peer-left': natProbeResult = true; iceDone = true; maybeEnd('peer-left'); break;
          case 'error': if (findings.signaling.errors.length < 16) findings.signaling.errors.push(String(m.code)); break;
          default: break;
        }
      };
      ws.onopen = function () { control({ type: 'join', seq: 0, room: cfg.room, token: cfg.roomToken }); };
      ws.onerror = function () { note('signaling connection error'); };
      ws.onclose = function () { if (!ended) { natProbeResult = true; iceDone = true; end('signaling-closed'); } };
      setTimeout(function () { if (!ended) end('timeout'); }, cfg.iceTimeoutMs);
    });
  }

  function report() {
    return fetch(cfg.findingsPath, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(findings) })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  say('Checking how your network reaches the internet…');
  (findings.webrtc ? gatherProbe() : Promise.reject(new Error('RTCPeerConnection is not available'))).then(function () {
    say('Testing a connection to your engineer…');
    return runIce();
  }).catch(note).then(function () {
    say('Sending the results to your engineer…');
    return report();
  }).then(function (answer) {
    statusEl.textContent = 'Done. You can close this page.';
    resultEl.textContent = answer && answer.sentence ? answer.sentence : 'The test could not finish. Please tell your engineer.';
    resultEl.setAttribute('data-code', answer && answer.code ? answer.code : 'unfinished');
    main.setAttribute('data-done', 'true');
  });
})();
`;

export const FIELD_PAGE_STYLE = `body{font:16px/1.45 system-ui,sans-serif;margin:0;padding:1.2rem;max-width:36rem;color:#1f2328;background:#fff}
h1{font-size:1.25rem;margin:0 0 .6rem}p{margin:.5rem 0}#status{color:#57606a}
#result{font-size:1.15rem;font-weight:600;margin-top:1rem}#result:empty{display:none}
small{color:#57606a}`;
