/* The built-in inbox of destek: the queue of handoffs, a conversation, replies.
   No dependencies. Writes carry the X-Destek-Inbox header (CSRF); live updates arrive
   over Server-Sent Events, which also tell the server this agent is online. */
(function () {
  'use strict';

  var STRINGS = {
    tr: { title: 'Gelen kutusu', name: 'Kullanıcı adı', password: 'Parola', signIn: 'Giriş yap', signOut: 'Çıkış', queue: 'Kuyruk', waiting: 'Bekleyen', mine: 'Bende', open: 'Tüm açık', resolved: 'Bugün çözülen', empty: 'Burada bir şey yok.', back: 'Geri', claim: 'Üstlen', resolve: 'Çözüldü', release: 'Bota geri ver', send: 'Gönder', transfer: 'Devret', transferTo: 'temsilci adı', wrong: 'Kullanıcı adı veya parola yanlış.', wait: 'Çok fazla deneme; {s} sn sonra tekrar deneyin.', failed: 'İşlem yapılamadı: ', live: 'canlı', offline: 'bağlantı yok', customer: 'Müşteri', bot: 'Bot', agent: 'Temsilci', intent: 'Konu', order: 'Sipariş', verified: 'doğrulandı', notVerified: 'doğrulanmadı', status: 'Sipariş durumu', failures: 'Başarısız doğrulama', summary: 'Özet', reason: 'Neden', lang: 'Dil', previous: 'Önceki temsilci', assigned: 'Temsilci', newHandoff: 'Yeni devir', min: 'dk', sec: 'sn', nobody: 'kimse', closed: 'Bu devir kapandı.' },
    fa: { title: 'صندوق پیام', name: 'نام کاربری', password: 'گذرواژه', signIn: 'ورود', signOut: 'خروج', queue: 'صف', waiting: 'در انتظار', mine: 'مال من', open: 'همه باز', resolved: 'حل‌شده امروز', empty: 'چیزی اینجا نیست.', back: 'بازگشت', claim: 'برداشتن', resolve: 'حل شد', release: 'بازگرداندن به ربات', send: 'ارسال', transfer: 'انتقال', transferTo: 'نام همکار', wrong: 'نام کاربری یا گذرواژه نادرست است.', wait: 'تلاش‌های زیاد؛ {s} ثانیه دیگر دوباره امتحان کنید.', failed: 'انجام نشد: ', live: 'زنده', offline: 'قطع', customer: 'مشتری', bot: 'ربات', agent: 'پشتیبان', intent: 'موضوع', order: 'سفارش', verified: 'تأیید شده', notVerified: 'تأیید نشده', status: 'وضعیت سفارش', failures: 'تأیید ناموفق', summary: 'خلاصه', reason: 'دلیل', lang: 'زبان', previous: 'پشتیبان قبلی', assigned: 'پشتیبان', newHandoff: 'ارجاع جدید', min: 'دقیقه', sec: 'ثانیه', nobody: 'هیچ‌کس', closed: 'این ارجاع بسته شده است.' },
    en: { title: 'Inbox', name: 'Name', password: 'Password', signIn: 'Sign in', signOut: 'Sign out', queue: 'Queue', waiting: 'Waiting', mine: 'Mine', open: 'All open', resolved: 'Resolved today', empty: 'Nothing here.', back: 'Back', claim: 'Claim', resolve: 'Resolve', release: 'Hand back to the bot', send: 'Send', transfer: 'Transfer', transferTo: 'agent name', wrong: 'Wrong name or password.', wait: 'Too many attempts; try again in {s} s.', failed: 'That did not work: ', live: 'live', offline: 'offline', customer: 'Customer', bot: 'Bot', agent: 'Agent', intent: 'Intent', order: 'Order', verified: 'verified', notVerified: 'not verified', status: 'Order status', failures: 'Failed verifications', summary: 'Summary', reason: 'Reason', lang: 'Language', previous: 'Previous agent', assigned: 'Agent', newHandoff: 'New handoff', min: 'min', sec: 's', nobody: 'nobody', closed: 'This handoff is over.' }
  };

  var $ = function (id) { return document.getElementById(id); };
  var lang = pickLang();
  var t = STRINGS[lang];
  var me = null;
  var tab = 'waiting';
  var open = [];          // every open handoff, from the last list
  var shown = [];         // what the current tab lists
  var current = null;     // the handoff on screen
  var known = null;       // ids of waiting handoffs already seen (for the alert)
  var unseen = 0;
  var baseTitle = document.title;
  var replies = {};       // quick replies per language

  function pickLang() {
    var q = /[?&]lang=(tr|fa|en)/.exec(location.search);
    if (q) return q[1];
    var n = (navigator.language || 'en').slice(0, 2).toLowerCase();
    return STRINGS[n] ? n : 'en';
  }

  function applyStrings() {
    t = STRINGS[lang] || STRINGS.en;
    document.documentElement.lang = lang;
    document.documentElement.dir = lang === 'fa' ? 'rtl' : 'ltr';
    var nodes = document.querySelectorAll('[data-t]');
    for (var i = 0; i < nodes.length; i++) {
      var k = nodes[i].getAttribute('data-t');
      if (t[k]) nodes[i].textContent = t[k];
    }
    $('transfer-to').placeholder = t.transferTo;
    document.title = baseTitle = t.title + ' · destek';
  }

  function api(method, path, body) {
    var init = { method: method, credentials: 'same-origin', headers: { 'X-Destek-Inbox': '1' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (j) {
        if (!res.ok) { j.status = res.status; j.retryAfter = res.headers.get('Retry-After'); throw j; }
        return j;
      });
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function duration(secs) {
    secs = Math.max(0, Math.floor(secs));
    if (secs < 60) return secs + ' ' + t.sec;
    if (secs < 3600) return Math.floor(secs / 60) + ' ' + t.min;
    return Math.floor(secs / 3600) + ' h ' + Math.floor((secs % 3600) / 60) + ' ' + t.min;
  }

  function waited(h) {
    if (h.status === 'waiting') return (Date.now() - Date.parse(h.created_at)) / 1000;
    return h.waiting_seconds;
  }

  /* ---- signing in ---- */

  function showLogin() {
    me = null;
    $('app').hidden = true;
    $('login').hidden = false;
    applyStrings();
    $('name').focus();
  }

  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    $('login-error').textContent = '';
    $('sign-in').disabled = true;
    api('POST', '/api/v1/agent/session', { name: $('name').value.trim(), password: $('password').value })
      .then(function (j) { $('password').value = ''; start(j.agent); })
      .catch(function (e) {
        $('login-error').textContent = e.status === 429 ? t.wait.replace('{s}', e.retryAfter || '?') : e.status === 401 ? t.wrong : t.failed + (e.detail || e.status || '');
      })
      .then(function () { $('sign-in').disabled = false; });
  });

  $('sign-out').addEventListener('click', function () {
    api('DELETE', '/api/v1/agent/session').catch(function () {}).then(function () {
      if (events) events.close();
      location.reload();
    });
  });

  /* ---- live updates ---- */

  var events = null;
  function connect() {
    events = new EventSource('/api/v1/agent/events');
    events.addEventListener('ready', function () { live(true); refresh(); });
    events.addEventListener('inbox', function (ev) {
      var d = {};
      try { d = JSON.parse(ev.data); } catch (e) { /* a keep-alive */ }
      refresh();
      if (current && d.conversation_id === current.conversation_id) loadConversation(current.handoff_id, true);
    });
    events.onerror = function () { live(false); };
  }

  function live(on) {
    var l = $('live');
    l.setAttribute('data-state', on ? 'on' : 'off');
    l.textContent = on ? t.live : t.offline;
  }

  function alertNew(n) {
    unseen += n;
    document.title = '(' + unseen + ') ' + t.newHandoff + ' · ' + baseTitle;
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      var o = ctx.createOscillator();
      var g = ctx.createGain();
      o.frequency.value = 880;
      g.gain.value = 0.08;
      o.connect(g); g.connect(ctx.destination);
      o.start(); o.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no sound: the title still says it */ }
  }

  function seenAll() {
    unseen = 0;
    document.title = baseTitle;
  }
  document.addEventListener('click', seenAll);

  /* ---- the queue ---- */

  function refresh() {
    var lists = [api('GET', '/api/v1/handoffs?status=open')];
    if (tab === 'resolved') lists.push(api('GET', '/api/v1/handoffs?status=resolved'));
    return Promise.all(lists).then(function (r) {
      open = r[0].handoffs;
      var waiting = open.filter(function (h) { return h.status === 'waiting'; });
      var ids = waiting.map(function (h) { return h.handoff_id; });
      if (known) {
        var fresh = ids.filter(function (id) { return known.indexOf(id) < 0; }).length;
        if (fresh) alertNew(fresh);
      }
      known = ids;
      var mine = open.filter(function (h) { return h.agent === me.name; });
      count('waiting', waiting.length);
      count('mine', mine.length);
      count('open', open.length);
      shown = tab === 'waiting' ? waiting : tab === 'mine' ? mine : tab === 'open' ? open : r[1].handoffs;
      renderList();
    }).catch(failed);
  }

  function count(name, n) {
    var c = document.querySelector('[data-count="' + name + '"]');
    if (c) c.textContent = n ? String(n) : '';
  }

  function renderList() {
    var ul = $('items');
    ul.textContent = '';
    $('empty').hidden = shown.length > 0;
    shown.forEach(function (h) {
      var li = el('li');
      var b = el('button', 'item');
      b.type = 'button';
      b.setAttribute('data-id', h.handoff_id);
      if (current && current.handoff_id === h.handoff_id) b.setAttribute('aria-current', 'true');
      var top = el('span', 'top');
      top.appendChild(el('span', 'tag' + (h.status === 'waiting' ? ' new' : ''), h.status === 'waiting' ? t.waiting : (h.agent || h.status)));
      var w = el('span', 'waited', duration(waited(h)));
      w.setAttribute('data-created', h.created_at);
      w.setAttribute('data-status', h.status);
      w.setAttribute('data-seconds', h.waiting_seconds);
      top.appendChild(w);
      if (h.lang) top.appendChild(el('span', 'tag', h.lang));
      top.appendChild(el('span', 'tag', h.intent || h.reason));
      if (h.order_id) top.appendChild(el('span', 'tag', '#' + h.order_id + (h.order_verified ? ' ✓' : '')));
      b.appendChild(top);
      var s = el('span', 'summary', h.summary);
      s.dir = 'auto';
      b.appendChild(s);
      b.addEventListener('click', function () { loadConversation(h.handoff_id); });
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  // Waiting times tick without asking the server.
  setInterval(function () {
    var ws = document.querySelectorAll('.waited[data-status="waiting"]');
    for (var i = 0; i < ws.length; i++) {
      ws[i].textContent = duration((Date.now() - Date.parse(ws[i].getAttribute('data-created'))) / 1000);
    }
  }, 1000);

  var tabs = document.querySelectorAll('[data-tab]');
  for (var i = 0; i < tabs.length; i++) {
    tabs[i].addEventListener('click', function (ev) {
      tab = ev.currentTarget.getAttribute('data-tab');
      for (var j = 0; j < tabs.length; j++) tabs[j].setAttribute('aria-selected', String(tabs[j] === ev.currentTarget));
      refresh();
    });
  }

  /* ---- a conversation ---- */

  function loadConversation(id, quiet) {
    return api('GET', '/api/v1/handoffs/' + encodeURIComponent(id)).then(function (h) {
      var same = current && current.handoff_id === h.handoff_id;
      current = h;
      renderConversation(h, same && quiet);
      renderList();
    }).catch(failed);
  }

  function row(dl, label, value) {
    if (value === null || value === undefined || value === '') return;
    dl.appendChild(el('dt', null, label));
    var dd = el('dd', null, value);
    dd.dir = 'auto';
    dl.appendChild(dd);
  }

  function renderConversation(h, keepDraft) {
    $('conversation').hidden = false;
    $('app').classList.add('viewing');
    $('conv-title').textContent = (h.intent || h.reason) + (h.order_id ? ' · #' + h.order_id : '');
    var c = h.context || {};
    var dl = $('context');
    dl.textContent = '';
    row(dl, t.assigned, h.agent || t.nobody);
    row(dl, t.reason, h.reason);
    row(dl, t.intent, c.intent);
    if (c.order_id) row(dl, t.order, '#' + c.order_id + ' (' + (c.order_verified ? t.verified : t.notVerified) + ')');
    row(dl, t.status, c.order_status);
    if (c.verify_failures) row(dl, t.failures, c.verify_failures);
    row(dl, t.lang, h.lang);
    row(dl, t.previous, c.previous_agent);
    row(dl, t.summary, c.summary);
    var ol = $('transcript');
    ol.textContent = '';
    (h.transcript || []).forEach(function (m) {
      var li = el('li', 'msg ' + m.from);
      li.dir = 'auto';
      var who = m.from === 'customer' ? t.customer : m.from === 'agent' ? (m.agent || t.agent) : t.bot;
      var when = m.at ? new Date(m.at) : null;
      li.appendChild(el('span', 'meta', who + (when && !isNaN(when) ? ' · ' + when.toLocaleTimeString() : '')));
      li.appendChild(document.createTextNode(m.text));
      ol.appendChild(li);
    });
    ol.scrollTop = ol.scrollHeight;
    var isOpen = h.status === 'waiting' || h.status === 'assigned';
    var mineOrFree = !h.agent || h.agent === me.name;
    $('claim').hidden = !isOpen || !!h.agent;
    $('resolve').disabled = !isOpen || !mineOrFree;
    $('release').disabled = !isOpen || !mineOrFree;
    $('send').disabled = !isOpen || !mineOrFree;
    $('transfer').disabled = !isOpen || !mineOrFree;
    $('conv-error').textContent = isOpen ? '' : t.closed;
    if (!keepDraft) $('reply').value = '';
    quickReplies(h.lang || me.lang);
  }

  function quickReplies(l) {
    var box = $('quick');
    var fill = function (list) {
      box.textContent = '';
      list.forEach(function (r) {
        var b = el('button', null, r.text);
        b.type = 'button';
        b.dir = 'auto';
        b.setAttribute('data-quick', r.id);
        b.addEventListener('click', function () { $('reply').value = r.text; $('reply').focus(); });
        box.appendChild(b);
      });
    };
    if (replies[l]) return fill(replies[l]);
    api('GET', '/api/v1/agent/replies?lang=' + encodeURIComponent(l)).then(function (j) {
      replies[l] = j.replies;
      fill(j.replies);
    }).catch(function () { fill([]); });
  }

  function act(path, body) {
    if (!current) return Promise.resolve();
    $('conv-error').textContent = '';
    var id = current.handoff_id;
    return api('POST', '/api/v1/handoffs/' + encodeURIComponent(id) + path, body)
      .then(function () { return loadConversation(id); })
      .then(refresh)
      .catch(failed);
  }

  $('reply-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = $('reply').value;
    if (!text.trim()) return;
    $('send').disabled = true;
    act('/messages', { text: text }).then(function () { $('send').disabled = false; });
  });
  $('reply').addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) $('reply-form').requestSubmit();
  });
  $('claim').addEventListener('click', function () { act('/claim', {}); });
  $('resolve').addEventListener('click', function () { act('/resolve', {}); });
  $('release').addEventListener('click', function () { act('/release', {}); });
  $('transfer').addEventListener('click', function () {
    var to = $('transfer-to').value.trim();
    if (to) act('/transfer', { agent: to });
  });
  $('back').addEventListener('click', function () {
    $('app').classList.remove('viewing');
    $('conversation').hidden = true;
    current = null;
    renderList();
  });

  function failed(e) {
    if (e && e.status === 401) return showLogin();
    var msg = t.failed + ((e && (e.detail || e.message)) || '');
    if ($('conversation').hidden) $('login-error').textContent = msg;
    else $('conv-error').textContent = msg;
  }

  /* ---- start ---- */

  function start(agent) {
    me = agent;
    if (STRINGS[agent.lang]) lang = agent.lang;
    applyStrings();
    $('who').textContent = agent.display;
    $('login').hidden = true;
    $('app').hidden = false;
    live(false);
    connect();
  }

  applyStrings();
  api('GET', '/api/v1/agent/session').then(function (j) { start(j.agent); }).catch(showLogin);
})();
