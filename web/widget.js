/* destek chat widget: dependency-free, ES2019, no build step. Docs: docs/widget.md.
 * Embed: <script src="https://bot.example/widget.js" data-lang="tr" async></script>
 * Renders into a shadow root on <destek-widget>; the only global is window.DestekWidget. */
(function () {
  'use strict';
  if (window.DestekWidget) return;

  var T = {
    tr: { open: 'Sohbeti aç', close: 'Sohbeti kapat', download: 'Konuşmayı indir (.txt)', placeholder: 'Mesajınızı yazın…', send: 'Gönder', typing: 'Yazıyor…', retry: 'Bağlantı koptu, yeniden deneniyor…', name: 'Asistan', you: 'Siz', agent: 'Temsilci', log: 'Mesajlar', failed: 'Mesaj gönderilemedi. Lütfen biraz sonra tekrar deneyin.', slow: 'Çok hızlı yazıyorsunuz; lütfen biraz bekleyip tekrar deneyin.', long: 'Mesajınız çok uzun; lütfen kısaltıp tekrar gönderin.' },
    fa: { open: 'باز کردن گفتگو', close: 'بستن گفتگو', download: 'دانلود گفتگو (.txt)', placeholder: 'پیامتان را بنویسید…', send: 'ارسال', typing: 'در حال نوشتن…', retry: 'اتصال قطع شد، در حال تلاش دوباره…', name: 'دستیار', you: 'شما', agent: 'پشتیبان', log: 'پیام‌ها', failed: 'پیام ارسال نشد. لطفاً کمی بعد دوباره تلاش کنید.', slow: 'پیام‌ها خیلی سریع ارسال شد؛ لطفاً کمی صبر کنید و دوباره تلاش کنید.', long: 'پیامتان خیلی طولانی است؛ لطفاً کوتاه‌ترش کنید.' },
    en: { open: 'Open chat', close: 'Close chat', download: 'Download transcript (.txt)', placeholder: 'Type your message…', send: 'Send', typing: 'Typing…', retry: 'Connection lost, retrying…', name: 'Assistant', you: 'You', agent: 'Agent', log: 'Messages', failed: 'The message could not be sent. Please try again in a moment.', slow: 'You are sending messages too fast; please wait a moment and try again.', long: 'Your message is too long; please shorten it.' }
  };
  var RTL_CHARS = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;
  // A run of Latin letters/digits (with the punctuation inside it, e.g. TR-55320, a@b.com),
  // including following runs separated by spaces: kept left-to-right inside RTL text.
  var LTR_RUN = /[0-9A-Za-z\u00C0-\u024F\u06F0-\u06F9\u0660-\u0669](?:(?:[^\s\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]|[\u06F0-\u06F9\u0660-\u0669])*[0-9A-Za-z\u00C0-\u024F\u06F0-\u06F9\u0660-\u0669])?(?:[ \t]+[0-9A-Za-z\u00C0-\u024F\u06F0-\u06F9\u0660-\u0669](?:(?:[^\s\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]|[\u06F0-\u06F9\u0660-\u0669])*[0-9A-Za-z\u00C0-\u024F\u06F0-\u06F9\u0660-\u0669])?)*/g;
  var URL_RE = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]»]/g;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script) return;
  var attr = function (n) { return script.getAttribute('data-' + n) || ''; };
  var scriptUrl = new URL(script.src, location.href);
  var API = (attr('api') ? new URL(attr('api'), location.href).href : scriptUrl.origin).replace(/\/+$/, '');
  var KEY = 'destek:' + API;

  function pickLang(v) {
    v = String(v || '').toLowerCase();
    if (/^tr\b/.test(v)) return 'tr';
    if (/^(fa|per|prs)\b/.test(v)) return 'fa';
    if (/^en\b/.test(v)) return 'en';
    return '';
  }
  var fromParam = attr('lang-param') ? new URLSearchParams(location.search).get(attr('lang-param')) : '';
  var LANG = pickLang(fromParam) || pickLang(attr('lang')) || pickLang(document.documentElement.lang) ||
    pickLang(navigator.language);
  var t = T[LANG || 'en'];
  var RTL = LANG === 'fa';

  var S = { conv: null, ws: null, wsTry: 0, wsTimer: 0, waiter: null, pending: false, open: false, msgs: [] };

  // ---- storage (may throw when storage is disabled) ----
  function load() {
    try { var v = JSON.parse(localStorage.getItem(KEY)); return v && v.id && v.token ? v : null; } catch (e) { return null; }
  }
  function save() { try { localStorage.setItem(KEY, JSON.stringify(S.conv)); } catch (e) { /* not persisted */ } }
  function forget() {
    S.conv = null;
    try { localStorage.removeItem(KEY); } catch (e) { /* ignore */ }
    if (S.ws) { var ws = S.ws; S.ws = null; ws.onclose = null; ws.close(); }
    clearTimeout(S.wsTimer);
  }
  function sess(v) {
    try { if (v === undefined) return sessionStorage.getItem(KEY + ':open') === '1'; sessionStorage.setItem(KEY + ':open', v ? '1' : '0'); } catch (e) { return false; }
  }

  // ---- DOM ----
  function el(tag, cls, props) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var k in props || {}) {
      if (k === 'text') e.textContent = props[k]; else e.setAttribute(k, props[k]);
    }
    return e;
  }
  function icon(d, size) {
    var NS = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', size);
    svg.setAttribute('height', size);
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var path = document.createElementNS(NS, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', d);
    svg.appendChild(path);
    return svg;
  }
  var host = document.createElement('destek-widget');
  var root = host.attachShadow({ mode: 'open' });
  var css = el('link', '', { rel: 'stylesheet', href: new URL('widget.css', scriptUrl).href });
  var wrap = el('div', 'root' + (RTL ? ' rtl' : ''), { dir: RTL ? 'rtl' : 'ltr', lang: LANG || 'en', hidden: '' });
  css.onload = function () { wrap.hidden = false; };
  css.onerror = function () { console.warn('destek: widget.css could not be loaded'); };

  var bubble = el('button', 'bubble', { type: 'button', 'aria-label': t.open, 'aria-expanded': 'false', 'aria-controls': 'destek-panel' });
  var dot = el('span', 'dot', { hidden: '' });
  bubble.append(icon('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z', 28), dot);
  var panel = el('div', 'panel', { id: 'destek-panel', role: 'dialog', 'aria-label': attr('name') || t.name, hidden: '' });
  var head = el('div', 'head');
  var titles = el('div', 'titles');
  titles.appendChild(el('div', 'title', { text: attr('name') || t.name }));
  if (attr('name')) titles.appendChild(el('div', 'sub', { text: t.name }));
  var dl = el('button', 'icon', { type: 'button', 'aria-label': t.download, title: t.download });
  dl.appendChild(icon('M11 3h2v9.6l3.3-3.3 1.4 1.4L12 16.4 6.3 10.7l1.4-1.4 3.3 3.3zM5 18h14v2H5z', 20));
  var cls = el('button', 'icon', { type: 'button', 'aria-label': t.close, title: t.close });
  cls.appendChild(icon('M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z', 20));
  head.append(titles, dl, cls);
  var scroller = el('div', 'scroll');
  var log = el('div', 'log', { role: 'log', 'aria-live': 'polite', 'aria-label': t.log });
  var typing = el('div', 'typing', { hidden: '', 'aria-hidden': 'true' });
  typing.append(el('span'), el('span'), el('span'));
  typing.title = t.typing;
  scroller.append(log, typing);
  var banner = el('div', 'banner', { role: 'status' });
  var form = el('form', 'form');
  var input = el('textarea', 'input', { rows: '1', placeholder: t.placeholder, 'aria-label': t.placeholder, dir: 'auto', maxlength: '4000', enterkeyhint: 'send' });
  var sendBtn = el('button', 'send', { type: 'submit', 'aria-label': t.send, title: t.send });
  sendBtn.appendChild(icon('M3 20.5V14l9-2-9-2V3.5L22 12z', 22));
  form.append(input, sendBtn);
  panel.append(head, scroller, banner, form);
  wrap.append(bubble, panel);
  root.append(css, wrap);

  // ---- rendering ----
  function fmt(text) {
    var frag = document.createDocumentFragment();
    var rtl = RTL_CHARS.test(text);
    var plain = function (s) {
      if (!rtl) { frag.appendChild(document.createTextNode(s)); return; }
      var last = 0;
      s.replace(LTR_RUN, function (m, at) {
        if (at > last) frag.appendChild(document.createTextNode(s.slice(last, at)));
        frag.appendChild(el('bdi', '', { dir: 'ltr', text: m }));
        last = at + m.length;
      });
      if (last < s.length) frag.appendChild(document.createTextNode(s.slice(last)));
    };
    var last = 0;
    text.replace(URL_RE, function (m, at) {
      plain(text.slice(last, at));
      frag.appendChild(el('a', '', { href: m, target: '_blank', rel: 'noopener noreferrer', dir: 'ltr', text: m }));
      last = at + m.length;
    });
    plain(text.slice(last));
    return frag;
  }
  function time(at) {
    var d = at ? new Date(at) : new Date();
    return isNaN(d) ? new Date() : d;
  }
  function clearButtons() {
    var rows = log.querySelectorAll('.quick');
    for (var i = 0; i < rows.length; i++) rows[i].remove();
  }
  function addMsg(m) {
    m = { from: m.from, text: String(m.text || ''), at: time(m.at), buttons: m.buttons || [], agent: m.agent };
    S.msgs.push(m);
    if (m.from === 'customer') clearButtons();
    var row = el('div', 'msg ' + m.from);
    row.m = m;
    if (m.from === 'agent') row.appendChild(el('div', 'who', { text: m.agent || t.agent, dir: 'auto' }));
    var b = el('div', 'bubbletext', { dir: 'auto', title: m.at.toLocaleString(LANG || undefined) });
    b.appendChild(fmt(m.text));
    row.appendChild(b);
    log.appendChild(row);
    if (m.from === 'bot' && m.buttons.length) {
      var q = el('div', 'quick');
      m.buttons.forEach(function (btn) {
        var x = el('button', 'qr', { type: 'button', dir: 'auto', text: btn.label });
        x.disabled = S.pending;
        x.addEventListener('click', function () { send({ payload: btn.payload, label: btn.label }, btn.label); });
        q.appendChild(x);
      });
      log.appendChild(q);
    }
    if (!S.open && m.from !== 'customer') dot.hidden = false;
    scrollDown();
    return row;
  }
  function notice(text) {
    var n = el('div', 'notice', { dir: 'auto' });
    n.appendChild(fmt(text));
    log.appendChild(n);
    scrollDown();
  }
  // The transcript stores a button press as "[payload]": show the button's label instead.
  function labelled(messages) {
    var buttons = [];
    return (messages || []).map(function (m) {
      if (m.from === 'bot') buttons = m.buttons || [];
      if (m.from !== 'customer') return m;
      var b = buttons.filter(function (x) { return m.text === '[' + x.payload + ']' || m.text === x.payload; })[0];
      return b ? { from: m.from, text: b.label, at: m.at } : m;
    });
  }
  function renderAll(messages) {
    S.msgs = [];
    log.textContent = '';
    labelled(messages).forEach(addMsg);
    dot.hidden = true;
  }
  function scrollDown() { scroller.scrollTop = scroller.scrollHeight; }
  function busy(on) {
    S.pending = on;
    sendBtn.disabled = on;
    typing.hidden = !on;
    var q = log.querySelectorAll('.qr');
    for (var i = 0; i < q.length; i++) q[i].disabled = on;
    scrollDown();
  }
  function retrying(on) { banner.textContent = on ? t.retry : ''; typing.hidden = on || !S.pending; }

  // ---- API ----
  function api(method, path, body, timeoutMs) {
    var ctl = window.AbortController ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, timeoutMs || 20000);
    var h = { Accept: 'application/json' };
    if (body) h['Content-Type'] = 'application/json';
    if (S.conv && path !== '') h.Authorization = 'Bearer ' + S.conv.token;
    var url = API + '/api/v1/conversations' + (path ? '/' + encodeURIComponent(S.conv.id) + path : '');
    return fetch(url, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined, signal: ctl && ctl.signal, credentials: 'omit' })
      .then(function (r) {
        clearTimeout(timer);
        return r.text().then(function (txt) {
          var data = null;
          try { data = txt ? JSON.parse(txt) : null; } catch (e) { /* not JSON */ }
          if (r.ok) return data || {};
          var err = new Error('HTTP ' + r.status);
          err.status = r.status;
          err.error = data && data.error;
          err.detail = (data && (data.detail || data.error)) || '';
          throw err;
        });
      }, function (e) { clearTimeout(timer); throw e; });
  }
  function transcript() { return api('GET', '/transcript'); }
  // The whole transcript, page by page (the server sends the latest 200 messages at most).
  function wholeTranscript() {
    function from(before, acc, pages) {
      var q = before == null ? '' : '?before=' + encodeURIComponent(before);
      return api('GET', '/transcript' + q).then(function (tr) {
        var msgs = (tr.messages || []).concat(acc);
        return tr.before == null || pages >= 50 ? msgs : from(tr.before, msgs, pages + 1);
      });
    }
    return from(null, [], 1);
  }
  function ensureConv() {
    if (S.conv) return Promise.resolve();
    return api('POST', '', LANG ? { lang: LANG } : {}).then(function (d) {
      if (!d.conversation_id || !d.token) throw new Error('bad response');
      S.conv = { id: d.conversation_id, token: d.token };
      save();
      connect();
    });
  }

  // ---- WebSocket with exponential backoff ----
  function backoff(i) { return Math.min(30000, 1000 * Math.pow(2, i)) * (0.75 + Math.random() / 4); }
  function wsReady() { return S.ws && S.ws.readyState === 1; }
  function connect() {
    clearTimeout(S.wsTimer);
    if (!S.conv || S.ws || !window.WebSocket) return;
    var u = new URL(API + '/api/v1/conversations/' + encodeURIComponent(S.conv.id) + '/ws');
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('token', S.conv.token);
    var ws;
    try { ws = new WebSocket(u.href); } catch (e) { return; }
    S.ws = ws;
    ws.onopen = function () {
      var again = S.wsTry > 0;
      S.wsTry = 0;
      if (again && !S.pending) sync();
    };
    ws.onmessage = function (ev) {
      var d;
      try { d = JSON.parse(ev.data); } catch (e) { return; }
      var w = S.waiter;
      if (d.type === 'agent') addMsg({ from: 'agent', text: d.text, agent: d.agent });
      else if (d.type === 'replies') {
        if (w) { S.waiter = null; clearTimeout(w.timer); w.resolve(d); } else if (!S.pending) showReplies(d);
      } else if (d.type === 'error') {
        var err = new Error(d.error || 'error');
        err.status = 'ws';
        err.error = d.error;
        err.detail = d.detail || d.error || '';
        if (w) { S.waiter = null; clearTimeout(w.timer); w.reject(err); } else notice(err.detail);
      }
    };
    ws.onclose = function () {
      if (S.ws !== ws) return;
      S.ws = null;
      var w = S.waiter;
      if (w) { S.waiter = null; clearTimeout(w.timer); w.reject(new Error('socket closed')); }
      if (!S.conv) return;
      if (++S.wsTry === 3) check();
      S.wsTimer = setTimeout(connect, backoff(S.wsTry));
    };
  }
  function viaWs(body) {
    return new Promise(function (resolve, reject) {
      var ws = S.ws;
      S.waiter = { resolve: resolve, reject: reject, timer: setTimeout(function () { ws.close(); }, 20000) };
      ws.send(JSON.stringify(body));
    });
  }
  // Was the message whose fate is unknown stored by the server? (Its last customer message.)
  function delivered(tr, shown, body) {
    var m = tr.messages || [];
    for (var i = m.length - 1; i >= 0; i--) {
      if (m[i].from === 'customer') return [shown, body.text, body.payload, '[' + body.payload + ']'].indexOf(m[i].text) >= 0 && i < m.length - 1;
    }
    return false;
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function deliver(body, shown) {
    var i = 0, renewed = false;
    var attempt = function () {
      // Retries go over POST: its answer is definite even when the socket is the problem.
      var p = wsReady() && !i ? viaWs(body) : api('POST', '/messages', body);
      return p.catch(function (e) {
        if (e.status === 401 || e.status === 404) {
          if (renewed) throw e;
          renewed = true; // the conversation is gone (expired, server reset): start a new one
          forget();
          return ensureConv().then(attempt);
        }
        if (e.status && e.status < 500) throw e;
        if (++i > 8) throw e;
        retrying(true);
        return sleep(backoff(i - 1)).then(function () {
          connect();
          return transcript().then(function (tr) {
            if (delivered(tr, shown, body)) return { transcript: tr };
            return attempt();
          }, function (e2) {
            if (e2.status === 401 || e2.status === 404) throw e2;
            return attempt();
          });
        });
      });
    };
    return attempt();
  }
  function showReplies(d) {
    (d.replies || []).forEach(function (r) { addMsg({ from: 'bot', text: r.text, buttons: r.buttons }); });
  }
  function send(body, shown) {
    if (S.pending || !shown.trim()) return false;
    if (new Blob([JSON.stringify(body)]).size > 16000) { notice(t.long); return false; }
    busy(true);
    var row = addMsg({ from: 'customer', text: shown });
    ensureConv().then(function () { return deliver(body, shown); }).then(function (d) {
      if (d.transcript) renderAll(d.transcript.messages); else showReplies(d);
    }, function (e) {
      var st = e.status;
      notice(st === 429 || e.error === 'rate_limited' ? t.slow : st === 413 ? t.long : st >= 400 && st < 500 && e.detail || t.failed);
      if (body.text && !input.value) {
        // Not delivered: the text goes back into the box instead of staying in the log.
        row.remove();
        S.msgs.splice(S.msgs.indexOf(row.m), 1);
        input.value = body.text;
        grow();
      } else row.classList.add('failed');
    }).then(function () { retrying(false); busy(false); });
    return true;
  }
  function sync() {
    return transcript().then(function (tr) {
      var m = tr.messages || [];
      var a = m[m.length - 1], b = S.msgs[S.msgs.length - 1];
      if (S.pending) return;
      if (m.length !== S.msgs.length || (a && b && a.text !== b.text)) renderAll(m);
    });
  }
  function check() {
    transcript().catch(function (e) { if (e.status === 401 || e.status === 404) forget(); });
  }

  // ---- transcript download ----
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function stamp(d) {
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function download() {
    var get = S.conv ? wholeTranscript().then(labelled, function () { return S.msgs; }) : Promise.resolve(S.msgs);
    get.then(function (msgs) {
      var name = attr('name') || t.name;
      var lines = [name + ' — ' + stamp(new Date()), ''];
      msgs.forEach(function (m) {
        var who = m.from === 'customer' ? t.you : m.from === 'agent' ? (m.agent || t.agent) : name;
        lines.push('[' + stamp(time(m.at)) + '] ' + who + ': ' + String(m.text || '').replace(/\n/g, '\n    '));
      });
      var a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/plain;charset=utf-8' }));
      a.download = 'chat-' + stamp(new Date()).replace(/[-: ]/g, '') + '.txt';
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
    });
  }

  // ---- open / close / input ----
  function setOpen(open, moveFocus) {
    S.open = open;
    panel.hidden = !open;
    wrap.classList.toggle('is-open', open);
    bubble.setAttribute('aria-expanded', String(open));
    sess(open);
    if (open) {
      dot.hidden = true;
      scrollDown();
      grow();
      if (moveFocus) input.focus();
    } else if (moveFocus) bubble.focus();
  }
  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 3, 120) + 'px';
    input.style.overflowY = input.scrollHeight + 3 > 120 ? 'auto' : 'hidden';
  }
  bubble.addEventListener('click', function () { setOpen(!S.open, true); });
  cls.addEventListener('click', function () { setOpen(false, true); });
  dl.addEventListener('click', download);
  wrap.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && S.open) { e.preventDefault(); setOpen(false, true); }
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  input.addEventListener('input', grow);
  form.addEventListener('submit', function (e) { e.preventDefault(); submit(); });
  function submit() {
    var v = input.value;
    if (send({ text: v.trim() }, v.trim())) { input.value = ''; grow(); }
  }
  window.addEventListener('online', function () { if (S.conv && !S.ws) connect(); });

  window.DestekWidget = {
    open: function () { setOpen(true, true); },
    close: function () { setOpen(false, true); },
    // Forgets the stored conversation; the next message starts a new one.
    reset: function () { forget(); renderAll([]); }
  };

  function start() {
    document.body.appendChild(host);
    S.conv = load();
    if (S.conv) {
      transcript().then(function (tr) { renderAll(tr.messages); connect(); }, function (e) {
        if (e.status === 401 || e.status === 404) forget(); else connect();
      });
    }
    if (sess()) setOpen(true, false);
  }
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
