// SPDX-License-Identifier: MIT
// Starts the dashboard: the header (views, range, pause, theme, token), the router that
// mounts the view named by the URL fragment (#/endpoints, #/endpoint/<name>?method=GET),
// and the live loop that asks the mounted view to refresh every few seconds. A refresh
// never overlaps the previous one, and a failed one is shown in the status line and tried
// again at the next tick: the gateway restarting must not leave a broken page.
'use strict';

(() => {
  const REFRESH_MS = 5000;
  const $ = (id) => document.getElementById(id);
  let current = null; // {name, instance}
  let busy = false;
  let timer = null;

  function parseHash() {
    const h = location.hash.replace(/^#\/?/, '');
    const [path, query] = h.split('?');
    const [name, ...rest] = path.split('/');
    return {name: name || 'overview', arg: rest.map(decodeURIComponent).join('/'),
            query: new URLSearchParams(query || '')};
  }

  function setStatus(text, kind) {
    const s = $('status');
    s.textContent = text;
    s.className = kind || '';
  }

  // A refresh asked for while one runs (a new view mounted, another range picked) runs
  // right after it; dropped, the page would show nothing new until the next tick. The
  // timer's ticks (`queue` false) are skipped while one runs, so refreshes never pile up.
  let again = false;
  async function refresh(queue = true) {
    if (!current || !current.instance || !current.instance.update) return;
    if (busy) {
      again = again || queue;
      return;
    }
    busy = true;
    try {
      await current.instance.update();
      setStatus(`${TG.state.paused ? 'paused' : 'live'} · ${new Date().toLocaleTimeString()}`,
                TG.state.paused ? 'paused' : 'ok');
    } catch (e) {
      setStatus(`update failed: ${e.message}`, 'error');
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  function schedule() {
    clearInterval(timer);
    timer = TG.state.paused ? null : setInterval(() => refresh(false), REFRESH_MS);
  }

  function route() {
    const {name, arg, query} = parseHash();
    const def = TG.views.get(name) || TG.views.get('overview');
    if (current && current.instance && current.instance.unmount) current.instance.unmount();
    const root = TG.clear($('view'));
    root.dataset.view = name;
    document.title = `${def.title} · tailguard`;
    for (const a of $('nav').querySelectorAll('a'))
      a.setAttribute('aria-current', a.dataset.view === name ? 'page' : 'false');
    current = {name, instance: def.mount(root, {arg, query}) || {}};
    refresh();
  }

  function header() {
    const nav = $('nav');
    for (const [name, def] of TG.views)
      if (def.nav !== false)
        nav.append(TG.el('a', {href: `#/${name}`, 'data-view': name}, def.title));

    const range = $('range');
    range.value = localStorage.getItem('tg.range') || '900';
    TG.state.range = range.value;
    range.addEventListener('change', () => {
      TG.state.range = range.value;
      localStorage.setItem('tg.range', range.value);
      refresh();
    });

    const pause = $('pause');
    pause.addEventListener('click', () => {
      TG.state.paused = !TG.state.paused;
      pause.setAttribute('aria-pressed', String(TG.state.paused));
      pause.textContent = TG.state.paused ? 'Resume' : 'Pause';
      schedule();
      setStatus(TG.state.paused ? 'paused' : 'live', TG.state.paused ? 'paused' : 'ok');
    });

    const theme = $('theme');
    const apply = (t) => {
      document.documentElement.dataset.theme = t;
      for (const c of Object.values(TG.charts)) c.redraw();
    };
    const saved = localStorage.getItem('tg.theme');
    apply(saved || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
    theme.addEventListener('click', () => {
      const t = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
      localStorage.setItem('tg.theme', t);
      apply(t);
    });

    $('token').addEventListener('click', tokenDialog);
    markToken();
  }

  function markToken() {
    $('token').textContent = TG.token() ? 'Token ✓' : 'Token';
  }

  // The bearer token for control calls, kept in this browser only (localStorage).
  function tokenDialog() {
    const input = TG.el('input', {type: 'password', id: 'token-input', autocomplete: 'off',
                                  value: TG.token(), 'aria-label': 'Admin token'});
    const dlg = TG.el('dialog', {class: 'token-dialog'},
      TG.el('form', {method: 'dialog', on: {submit: () => {
        TG.setToken(input.value.trim());
        markToken();
        TG.notify(input.value.trim() ? 'token saved in this browser' : 'token cleared');
      }}},
      TG.el('h2', {}, 'Admin token'),
      TG.el('p', {}, 'Sent as "Authorization: Bearer" with control calls; kept in this browser only.'),
      input,
      TG.el('div', {class: 'buttons'},
        TG.el('button', {type: 'submit', id: 'token-save'}, 'Save'),
        TG.el('button', {type: 'button', on: {click: () => dlg.close()}}, 'Cancel'))));
    dlg.addEventListener('close', () => dlg.remove());
    document.body.append(dlg);
    dlg.showModal();
    input.focus();
  }

  document.addEventListener('DOMContentLoaded', () => {
    header();
    window.addEventListener('hashchange', route);
    route();
    schedule();
  });
  TG.refresh = refresh;
})();
