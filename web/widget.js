/* destek chat widget: dependency-free, ES2019, no build step. Docs: docs/widget.md.
 * Embed: <script src="https://bot.example/widget.js" data-lang="tr" async></script>
 * Renders into a shadow root on <destek-widget>; the only global is window.DestekWidget. */
(function () {
  'use strict';
  if (window.DestekWidget) return;

  var T = {
    tr: { open: 'Sohbeti aç', close: 'Sohbeti kapat', download: 'Konuşmayı indir (.txt)', placeholder: 'Mesajınızı yazın…', send: 'Gönder', typing: 'Yazıyor…', retry: 'Bağlantı koptu, yeniden deneniyor…', name: 'Asistan', you: 'Siz', agent: 'Temsilci', log: 'Mesajlar', failed: 'Mesaj gönderilemedi. Lütfen biraz sonra tekrar deneyin.', slow: 'Çok hızlı yazıyorsunuz; lütfen biraz bekleyip tekrar deneyin.', long: 'Mesajınız çok uzun; lütfen kısaltıp tekrar gönderin.', restart: 'Yeni konuşma', restartQ: 'Yeni bir konuşma başlatılsın mı? Bu konuşma ekrandan kalkar.', yes: 'Evet', no: 'Vazgeç', sending: 'Gönderiliyor…', sent: 'Gönderildi', queued: 'Bağlantı bekleniyor…', tapRetry: 'Gönderilemedi, tekrar denemek için dokunun', unread: 'yeni mesaj', newMsg: 'Yeni mesaj', teaser: 'Yardıma mı ihtiyacınız var? Bize yazın.', dismiss: 'Kapat', privacy: 'Gizlilik bildirimi', erase: 'Konuşmamı sil', eraseQ: 'Bu konuşmanın tüm mesajları ve ekleri silinsin mi?', erased: 'Konuşmanız silindi.', attach: 'Dosya ekle', tooBig: 'Dosya çok büyük.', badType: 'Bu dosya türü gönderilemiyor; fotoğraf (JPEG, PNG, WebP, HEIC) ya da PDF gönderin.' },
    fa: { open: 'باز کردن گفتگو', close: 'بستن گفتگو', download: 'دانلود گفتگو (.txt)', placeholder: 'پیامتان را بنویسید…', send: 'ارسال', typing: 'در حال نوشتن…', retry: 'اتصال قطع شد، در حال تلاش دوباره…', name: 'دستیار', you: 'شما', agent: 'پشتیبان', log: 'پیام‌ها', failed: 'پیام ارسال نشد. لطفاً کمی بعد دوباره تلاش کنید.', slow: 'پیام‌ها خیلی سریع ارسال شد؛ لطفاً کمی صبر کنید و دوباره تلاش کنید.', long: 'پیامتان خیلی طولانی است؛ لطفاً کوتاه‌ترش کنید.', restart: 'گفتگوی تازه', restartQ: 'گفتگوی تازه‌ای شروع شود؟ این گفتگو از صفحه پاک می‌شود.', yes: 'بله', no: 'انصراف', sending: 'در حال ارسال…', sent: 'ارسال شد', queued: 'در انتظار اتصال…', tapRetry: 'ارسال نشد، برای تلاش دوباره بزنید', unread: 'پیام تازه', newMsg: 'پیام تازه', teaser: 'کمک لازم دارید؟ برای ما بنویسید.', dismiss: 'بستن', privacy: 'حریم خصوصی', erase: 'حذف گفتگوی من', eraseQ: 'همه‌ی پیام‌ها و پیوست‌های این گفتگو حذف شود؟', erased: 'گفتگوی شما حذف شد.', attach: 'افزودن فایل', tooBig: 'فایل خیلی بزرگ است.', badType: 'این نوع فایل پذیرفته نمی‌شود؛ عکس (JPEG، PNG، WebP، HEIC) یا PDF بفرستید.' },
    en: { open: 'Open chat', close: 'Close chat', download: 'Download transcript (.txt)', placeholder: 'Type your message…', send: 'Send', typing: 'Typing…', retry: 'Connection lost, retrying…', name: 'Assistant', you: 'You', agent: 'Agent', log: 'Messages', failed: 'The message could not be sent. Please try again in a moment.', slow: 'You are sending messages too fast; please wait a moment and try again.', long: 'Your message is too long; please shorten it.', restart: 'New conversation', restartQ: 'Start a new conversation? This one will be cleared from the screen.', yes: 'Yes', no: 'Cancel', sending: 'Sending…', sent: 'Sent', queued: 'Waiting for connection…', tapRetry: 'Failed, tap to retry', unread: 'new messages', newMsg: 'New message', teaser: 'Need help? Write to us.', dismiss: 'Dismiss', privacy: 'Privacy notice', erase: 'Delete my conversation', eraseQ: 'Delete every message and attachment of this conversation?', erased: 'Your conversation has been deleted.', attach: 'Attach a file', tooBig: 'The file is too large.', badType: 'This kind of file cannot be sent; send a photo (JPEG, PNG, WebP, HEIC) or a PDF.' }
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

  var num = function (n) { return Number(n).toLocaleString(LANG || 'en'); };
  var S = { conv: null, ws: null, wsTry: 0, wsTimer: 0, waiter: null, pending: false, open: false, msgs: [], unread: 0, agent: null, creating: null };

  // ---- storage (may throw when storage is disabled) ----
  function load() {
    try { var v = JSON.parse(localStorage.getItem(KEY)); return v && v.id && v.token ? v : null; } catch (e) { return null; }
  }
  function save() { try { localStorage.setItem(KEY, JSON.stringify(S.conv)); } catch (e) { /* not persisted */ } }
  function forget() {
    S.conv = null;
    S.creating = null;
    try { localStorage.removeItem(KEY); } catch (e) { /* ignore */ }
    if (S.ws) { var ws = S.ws; S.ws = null; ws.onclose = null; ws.close(); }
    clearTimeout(S.wsTimer);
    setAgent(null);
  }
  function sess(v, k) {
    k = KEY + ':' + (k || 'open');
    try { if (v === undefined) return sessionStorage.getItem(k) === '1'; sessionStorage.setItem(k, v ? '1' : '0'); } catch (e) { return false; }
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
  function iconBtn(cls, label, d) {
    var b = el('button', 'icon ' + cls, { type: 'button', 'aria-label': label, title: label });
    b.appendChild(icon(d, 20));
    return b;
  }
  var X = 'M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z';
  var CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z';
  var host = document.createElement('destek-widget');
  var root = host.attachShadow({ mode: 'open' });
  var css = el('link', '', { rel: 'stylesheet', href: new URL('widget.css', scriptUrl).href });
  var wrap = el('div', 'root' + (RTL ? ' rtl' : ''), { dir: RTL ? 'rtl' : 'ltr', lang: LANG || 'en', hidden: '' });
  css.onload = function () { wrap.hidden = false; grow(); scrollDown(); };
  css.onerror = function () { console.warn('destek: widget.css could not be loaded'); };

  var bubble = el('button', 'bubble', { type: 'button', 'aria-label': t.open, 'aria-expanded': 'false', 'aria-controls': 'destek-panel' });
  var dot = el('span', 'dot', { hidden: '', 'aria-hidden': 'true' });
  var bubbleIcon = el('span', 'bi');
  bubbleIcon.appendChild(icon(CHAT, 28));
  bubble.append(bubbleIcon, dot);
  var teaser = el('div', 'teaser', { hidden: '', role: 'status' });
  var teaserText = el('button', 'teaser-text', { type: 'button', dir: 'auto', text: attr('teaser-text') || t.teaser });
  var teaserX = iconBtn('teaser-x', t.dismiss, X);
  teaser.append(teaserText, teaserX);
  var panel = el('div', 'panel', { id: 'destek-panel', role: 'dialog', 'aria-label': attr('name') || t.name, hidden: '' });
  var head = el('div', 'head');
  var avatar = el('span', 'avatar', { hidden: '', 'aria-hidden': 'true' });
  var titles = el('div', 'titles');
  var title = el('div', 'title', { text: attr('name') || t.name, dir: 'auto' });
  var sub = el('div', 'sub', { text: t.name });
  sub.hidden = !attr('name');
  titles.append(title, sub);
  var restart = iconBtn('new', t.restart, 'M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z');
  var dl = iconBtn('dl', t.download, 'M11 3h2v9.6l3.3-3.3 1.4 1.4L12 16.4 6.3 10.7l1.4-1.4 3.3 3.3zM5 18h14v2H5z');
  var cls = iconBtn('x', t.close, X);
  head.append(avatar, titles, restart, dl, cls);
  var scroller = el('div', 'scroll', { tabindex: '0' }); // scrollable by keyboard
  var log = el('div', 'log', { role: 'log', 'aria-live': 'polite', 'aria-label': t.log });
  var typing = el('div', 'typing', { hidden: '', 'aria-hidden': 'true' });
  typing.append(el('span'), el('span'), el('span'));
  typing.title = t.typing;
  scroller.append(log, typing);
  var banner = el('div', 'banner', { role: 'status' });
  var ask = el('div', 'confirm', { hidden: '', role: 'group' });
  var askText = el('p', '', { dir: 'auto' });
  var askYes = el('button', 'yes', { type: 'button', text: t.yes });
  var askNo = el('button', 'no', { type: 'button', text: t.no });
  ask.append(askText, askYes, askNo);
  var form = el('form', 'form');
  var input = el('textarea', 'input', { rows: '1', placeholder: t.placeholder, 'aria-label': t.placeholder, dir: 'auto', maxlength: '4000', enterkeyhint: 'send' });
  var file = el('input', '', { type: 'file', accept: 'image/jpeg,image/png,image/webp,image/heic,.heic,application/pdf', hidden: '', tabindex: '-1', 'aria-hidden': 'true' });
  var clip = iconBtn('clip', t.attach, 'M16.5 6v11.5a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6H9v9.5a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v12.5a6 6 0 0 0 12 0V6z');
  var sendBtn = el('button', 'send', { type: 'submit', 'aria-label': t.send, title: t.send });
  sendBtn.appendChild(icon('M3 20.5V14l9-2-9-2V3.5L22 12z', 22));
  form.append(clip, file, input, sendBtn);
  var foot = el('div', 'foot');
  if (attr('privacy-url')) {
    foot.appendChild(el('a', 'privacy', { href: attr('privacy-url'), target: '_blank', rel: 'noopener noreferrer', dir: 'auto', text: attr('privacy-text') || t.privacy }));
  }
  var erase = el('button', 'erase', { type: 'button', text: t.erase });
  foot.appendChild(erase);
  panel.append(head, scroller, banner, ask, form, foot);
  wrap.append(teaser, bubble, panel);
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
  // "now", "3 minutes ago", "۳ دقیقه پیش"; older than a day: the date.
  var RTF = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(LANG || 'en', { numeric: 'auto' }) : null;
  function ago(d) {
    var s = Math.round((Date.now() - d) / 1000);
    if (!RTF || s > 86400) return d.toLocaleDateString(LANG || undefined, { day: 'numeric', month: 'short' }) + ' ' + d.toLocaleTimeString(LANG || undefined, { hour: '2-digit', minute: '2-digit' });
    if (s < 45) return RTF.format(0, 'second');
    if (s < 3600) return RTF.format(-Math.round(s / 60), 'minute');
    return RTF.format(-Math.round(s / 3600), 'hour');
  }
  function stampAll() {
    var ts = log.querySelectorAll('time');
    for (var i = 0; i < ts.length; i++) ts[i].textContent = ago(new Date(ts[i].dateTime));
  }
  setInterval(stampAll, 30000);
  function clearButtons() {
    var rows = log.querySelectorAll('.quick');
    for (var i = 0; i < rows.length; i++) rows[i].remove();
  }
  // An attachment message: "📎 name /api/v1/conversations/<id>/attachments/<aid>".
  var ATTACH_RE = /^\u{1F4CE} (.*) (\/api\/v1\/conversations\/[0-9a-z]+\/attachments\/[0-9a-z]+)$/u;
  function addMsg(m, quiet) {
    m = { from: m.from, text: String(m.text || ''), at: time(m.at), buttons: m.buttons || [], agent: m.agent };
    S.msgs.push(m);
    if (m.from === 'customer') clearButtons();
    var row = el('div', 'msg ' + m.from);
    row.m = m;
    if (m.from === 'agent') row.appendChild(el('div', 'who', { text: m.agent || t.agent, dir: 'auto' }));
    var b = el('div', 'bubbletext', { dir: 'auto' });
    var a = ATTACH_RE.exec(m.text);
    if (a) {
      b.appendChild(fmt('\u{1F4CE} ' + a[1]));
      thumb(row, a[2], a[1]);
    } else b.appendChild(fmt(m.text));
    row.appendChild(b);
    var meta = el('div', 'meta');
    var when = el('time', '', { datetime: m.at.toISOString(), title: m.at.toLocaleString(LANG || undefined) });
    when.textContent = ago(m.at);
    meta.appendChild(when);
    row.appendChild(meta);
    log.appendChild(row);
    if (m.from !== 'customer' && m.buttons.length) {
      var q = el('div', 'quick');
      m.buttons.forEach(function (btn) {
        var x = el('button', 'qr', { type: 'button', dir: 'auto', text: btn.label });
        x.disabled = S.pending;
        x.addEventListener('click', function () { send({ payload: btn.payload, label: btn.label }, btn.label); });
        q.appendChild(x);
      });
      log.appendChild(q);
    }
    if (!quiet && m.from !== 'customer') attention();
    scrollDown();
    return row;
  }
  // The thumbnail of an attachment, fetched with the conversation's token.
  function thumb(row, path, name) {
    if (!S.conv) return;
    fetch(API + path, { headers: { Authorization: 'Bearer ' + S.conv.token }, credentials: 'omit' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.blob();
    }).then(function (blob) {
      var u = URL.createObjectURL(blob);
      var link = el('a', 'att', { href: u, target: '_blank', rel: 'noopener', download: name });
      if (/^image\/(jpeg|png|webp)$/.test(blob.type)) link.appendChild(el('img', '', { src: u, alt: name }));
      else link.textContent = name;
      row.insertBefore(link, row.querySelector('.meta'));
      scrollDown();
    }).catch(function () { /* the name stays */ });
  }
  function status(row, st) {
    var meta = row.querySelector('.meta');
    var old = meta.querySelector('.st');
    if (old) old.remove();
    row.classList.toggle('failed', st === 'failed');
    if (st === 'failed') {
      var r = el('button', 'st retry', { type: 'button', text: t.tapRetry });
      r.addEventListener('click', function () { if (!S.pending) push(row); });
      meta.appendChild(r);
    } else meta.appendChild(el('span', 'st', { text: t[st] }));
    // "Sent" only under the latest message that has it.
    if (st === 'sent') {
      var all = log.querySelectorAll('.msg.customer .st:not(.retry)');
      for (var i = 0; i < all.length - 1; i++) if (all[i].textContent === t.sent) all[i].remove();
    }
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
    labelled(messages).forEach(function (m) {
      var row = addMsg(m, true);
      if (m.from === 'customer') status(row, 'sent');
    });
  }
  function scrollDown() { scroller.scrollTop = scroller.scrollHeight; }
  function busy(on) {
    S.pending = on;
    sendBtn.disabled = on;
    clip.disabled = on;
    typing.hidden = !on;
    var q = log.querySelectorAll('.qr, .retry');
    for (var i = 0; i < q.length; i++) q[i].disabled = on;
    scrollDown();
  }
  function retrying(on) { banner.textContent = on ? t.retry : ''; typing.hidden = on || !S.pending; }

  // ---- who has the conversation: the assistant, or a person ----
  function initials(name) {
    return name.trim().split(/\s+/).slice(0, 2).map(function (w) { return Array.from(w)[0]; }).join('').toLocaleUpperCase(LANG || undefined);
  }
  function setAgent(name) {
    S.agent = name || null;
    title.textContent = S.agent || attr('name') || t.name;
    sub.textContent = S.agent ? t.agent : t.name;
    sub.hidden = !S.agent && !attr('name');
    avatar.hidden = !S.agent;
    avatar.textContent = S.agent ? initials(S.agent) : '';
    head.classList.toggle('person', !!S.agent);
  }
  function agentOf(tr) {
    var m = (tr.messages || []).filter(function (x) { return x.from === 'agent'; }).pop();
    return tr.handoff && m ? m.agent || t.agent : null;
  }

  // ---- attention: unread count, title flash, sound ----
  var pageTitle = document.title, flash = 0;
  function attention() {
    if (S.open && !document.hidden) return;
    S.unread++;
    dot.textContent = num(S.unread);
    dot.hidden = false;
    bubble.setAttribute('aria-label', (S.open ? t.close : t.open) + ' (' + num(S.unread) + ' ' + t.unread + ')');
    if (document.hidden) {
      if (!flash) {
        pageTitle = document.title;
        flash = setInterval(function () {
          document.title = document.title === pageTitle ? '(' + num(S.unread) + ') ' + t.newMsg : pageTitle;
        }, 1000);
      }
      if (attr('sound') === 'on') beep();
    }
  }
  function seen() {
    if (document.hidden) return;
    clearInterval(flash);
    if (flash) document.title = pageTitle;
    flash = 0;
    if (!S.open) return;
    S.unread = 0;
    dot.hidden = true;
    bubble.setAttribute('aria-label', t.close);
  }
  function beep() {
    try {
      var A = window.AudioContext || window.webkitAudioContext, c = new A(), o = c.createOscillator(), g = c.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.08, c.currentTime);
      g.gain.exponentialRampToValueAtTime(0.001, c.currentTime + 0.25);
      o.connect(g); g.connect(c.destination);
      o.start(); o.stop(c.currentTime + 0.25);
      o.onended = function () { c.close(); };
    } catch (e) { /* no sound */ }
  }
  document.addEventListener('visibilitychange', seen);

  // ---- API ----
  function api(method, path, body, timeoutMs) {
    var ctl = window.AbortController ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, timeoutMs || 20000);
    var h = { Accept: 'application/json' };
    var form = body instanceof FormData;
    if (body && !form) h['Content-Type'] = 'application/json';
    if (S.conv && path !== '') h.Authorization = 'Bearer ' + S.conv.token;
    var url = API + '/api/v1/conversations' + (path ? '/' + encodeURIComponent(S.conv.id) + (path === '/' ? '' : path) : '');
    return fetch(url, { method: method, headers: h, body: body ? (form ? body : JSON.stringify(body)) : undefined, signal: ctl && ctl.signal, credentials: 'omit' })
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
  // A new conversation opens with the pack's welcome and its topic buttons.
  function ensureConv() {
    if (S.conv) return Promise.resolve();
    if (S.creating) return S.creating;
    var p = S.creating = api('POST', '', LANG ? { lang: LANG } : {}).then(function (d) {
      if (!d.conversation_id || !d.token) throw new Error('bad response');
      if (S.creating !== p) return;
      S.creating = null;
      S.conv = { id: d.conversation_id, token: d.token };
      save();
      var before = log.firstChild;
      (d.replies || []).forEach(function (r) {
        var row = addMsg({ from: 'bot', text: r.text, buttons: r.buttons }, true);
        if (before) { log.insertBefore(row, before); var q = row.nextSibling; if (q && q.className === 'quick') log.insertBefore(q, before); }
      });
      connect();
    }, function (e) { S.creating = null; throw e; });
    return p;
  }

  // ---- WebSocket with exponential backoff ----
  function backoff(i) { return Math.min(30000, 1000 * Math.pow(2, i)) * (0.75 + Math.random() / 4); }
  function wsReady() { return S.ws && S.ws.readyState === 1; }
  function connect() {
    clearTimeout(S.wsTimer);
    if (!S.conv || S.ws || !window.WebSocket || navigator.onLine === false) return;
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
      if (d.type === 'agent') { setAgent(d.agent || S.agent || t.agent); addMsg({ from: 'agent', text: d.text, agent: d.agent }); }
      else if (d.type === 'replies') {
        if (d.handoff === false && S.agent) setAgent(null);
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
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function online() {
    return navigator.onLine === false ? new Promise(function (r) { window.addEventListener('online', r, { once: true }); }) : Promise.resolve();
  }
  // Each message carries a client id: sent again after a lost answer, the server does not
  // take it twice. Offline, it waits for the connection; failing 4 times, it is "failed".
  function deliver(body, row) {
    var i = 0, renewed = false;
    var attempt = function () {
      if (navigator.onLine === false) {
        if (row) status(row, 'queued');
        return online().then(attempt);
      }
      if (row) status(row, 'sending');
      // Retries go over POST: its answer is definite even when the socket is the problem.
      var p = wsReady() && !i ? viaWs(body) : api('POST', '/messages', body);
      return p.catch(function (e) {
        if (e.status === 401 || e.status === 404) {
          if (renewed) throw e;
          renewed = true; // the conversation is gone (expired, server reset): start a new one
          forget();
          return ensureConv().then(attempt);
        }
        if (e.status && e.status !== 'ws' && e.status < 500) throw e;
        if (e.status === 'ws' && e.error !== 'internal') throw e;
        if (navigator.onLine === false) return attempt();
        if (++i > 3) throw e;
        retrying(true);
        return sleep(backoff(i - 1)).then(function () { connect(); return attempt(); });
      });
    };
    return attempt();
  }
  function showReplies(d) {
    (d.replies || []).forEach(function (r) { addMsg({ from: 'bot', text: r.text, buttons: r.buttons }); });
  }
  var seq = 0;
  function cid() { return Date.now().toString(36) + '-' + (++seq) + '-' + Math.random().toString(36).slice(2, 10); }
  function send(body, shown) {
    if (S.pending || !shown.trim()) return false;
    if (new Blob([JSON.stringify(body)]).size > 16000) { notice(t.long); return false; }
    body.client_id = cid();
    var row = addMsg({ from: 'customer', text: shown });
    row.body = body;
    push(row);
    return true;
  }
  function push(row) {
    var body = row.body;
    busy(true);
    ensureConv().then(function () { return deliver(body, row); }).then(function (d) {
      status(row, 'sent');
      if (d.duplicate) return sync(true);
      showReplies(d);
    }, function (e) {
      var st = e.status;
      if (!st || st === 'ws' && e.error === 'internal' || st >= 500) { status(row, 'failed'); return; }
      notice(st === 429 || e.error === 'rate_limited' ? t.slow : st === 413 ? t.long : st >= 400 && st < 500 && e.detail || t.failed);
      if (body.text && !input.value) {
        // Not taken: the text goes back into the box instead of staying in the log.
        row.remove();
        S.msgs.splice(S.msgs.indexOf(row.m), 1);
        input.value = body.text;
        grow();
      } else status(row, 'failed');
    }).then(function () { retrying(false); busy(false); });
  }
  function sync(force) {
    return transcript().then(function (tr) {
      var m = tr.messages || [];
      var a = m[m.length - 1], b = S.msgs[S.msgs.length - 1];
      setAgent(agentOf(tr));
      if (S.pending && !force) return;
      if (force || m.length !== S.msgs.length || (a && b && a.text !== b.text)) renderAll(m);
    });
  }
  function check() {
    transcript().catch(function (e) { if (e.status === 401 || e.status === 404) forget(); });
  }

  // ---- attachments ----
  clip.addEventListener('click', function () { file.click(); });
  file.addEventListener('change', function () {
    var f = file.files && file.files[0];
    file.value = '';
    if (!f || S.pending) return;
    busy(true);
    ensureConv().then(function () {
      var fd = new FormData();
      fd.append('file', f, f.name);
      return api('POST', '/attachments', fd, 120000);
    }).then(function () { return sync(true); }, function (e) {
      notice(e.status === 413 ? t.tooBig + ' ' + (e.detail || '') : e.status === 415 ? t.badType : e.detail || t.failed);
    }).then(function () { busy(false); });
  });

  // ---- confirm, new conversation, erase ----
  function confirmAsk(q, yes) {
    askText.textContent = q;
    ask.hidden = false;
    askYes.onclick = function () { ask.hidden = true; yes(); input.focus(); };
    askNo.onclick = function () { ask.hidden = true; input.focus(); };
    askYes.focus();
  }
  function fresh() { forget(); renderAll([]); return ensureConv().catch(function () { notice(t.failed); }); }
  restart.addEventListener('click', function () { if (!S.pending) confirmAsk(t.restartQ, fresh); });
  erase.addEventListener('click', function () {
    if (S.pending || !S.conv) return;
    confirmAsk(t.eraseQ, function () {
      api('DELETE', '/').then(function () { forget(); renderAll([]); notice(t.erased); }, function (e) { notice(e.detail || t.failed); });
    });
  });

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
    // While open, the launcher is the close button.
    bubbleIcon.textContent = '';
    bubbleIcon.appendChild(icon(open ? X : CHAT, open ? 24 : 28));
    bubble.setAttribute('aria-label', open ? t.close : t.open);
    sess(open);
    if (open) {
      teaser.hidden = true;
      sess(true, 'teased');
      seen();
      stampAll();
      scrollDown();
      grow();
      if (moveFocus) input.focus();
      if (!S.conv) ensureConv().catch(function () { /* the first message tries again */ });
    } else if (moveFocus) bubble.focus();
  }
  // The text box fits its text; while the panel is not laid out (hidden, or its stylesheet
  // still loading) it keeps its natural height instead of measuring 0.
  function grow() {
    if (!input.offsetParent) { input.style.height = ''; return; }
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 3, 120) + 'px';
    input.style.overflowY = input.scrollHeight + 3 > 120 ? 'auto' : 'hidden';
  }
  bubble.addEventListener('click', function () { setOpen(!S.open, true); });
  cls.addEventListener('click', function () { setOpen(false, true); });
  dl.addEventListener('click', download);
  teaserText.addEventListener('click', function () { setOpen(true, true); });
  teaserX.addEventListener('click', function () { teaser.hidden = true; sess(true, 'teased'); bubble.focus(); });
  wrap.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !ask.hidden) { e.preventDefault(); askNo.click(); } else if (e.key === 'Escape' && S.open) { e.preventDefault(); setOpen(false, true); }
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
  window.addEventListener('offline', function () { if (S.ws) S.ws.close(); });

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
      transcript().then(function (tr) { renderAll(tr.messages); setAgent(agentOf(tr)); connect(); }, function (e) {
        if (e.status !== 401 && e.status !== 404) return connect();
        // The server forgot it (expired, erased): an open panel starts a new one.
        forget();
        if (S.open) ensureConv().catch(function () { /* the first message tries again */ });
      });
    }
    if (sess()) setOpen(true, false);
    var n = parseInt(attr('teaser-after'), 10);
    if (n > 0 && !sess(undefined, 'teased')) setTimeout(function () { if (!S.open) teaser.hidden = false; }, n * 1000);
  }
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
