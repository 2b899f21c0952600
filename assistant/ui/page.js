// Behaviour of the PHT assistant pages (loaded once by assistant/ui/layout.py and staff.py).
// - keeps the page in its light theme (the app has one designed theme: see styles.css);
// - a citation marker opens its source entry and moves focus there; "Back to the answer"
//   (or Escape) returns focus to the marker;
// - a question link in a reply (a.pht-ask) is put in the question box and sent;
// - a copy button copies the plain text kept next to it.
(() => {
  if (window.__phtReady) return;
  window.__phtReady = true;
  const light = () => { if (document.body.classList.contains('dark')) document.body.classList.remove('dark'); };
  light();
  new MutationObserver(light).observe(document.body, {attributes: true, attributeFilter: ['class']});
  document.documentElement.style.colorScheme = 'light';

  // Gradio labels each chat message with its raw HTML, and gives some empty placeholders an
  // aria-label without a role: screen readers should read the message text instead.
  const tidy = () => {
    document.querySelectorAll('#pht-chat [aria-label*="<"]').forEach((el) => el.removeAttribute('aria-label'));
    document.querySelectorAll('div.empty[aria-label]:not([role])').forEach((el) => el.setAttribute('role', 'img'));
  };
  new MutationObserver(tidy).observe(document.documentElement, {subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label']});
  tidy();

  let lastMarker = null;
  const ask = (text) => {
    const box = document.querySelector('#pht-question textarea');
    const send = document.querySelector('#pht-send');
    if (!box || !send) return;
    const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set;
    setter.call(box, text);
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => send.click(), 50);
  };
  const copy = async (button) => {
    const holder = button.closest('.pht-actions');
    const pre = holder && holder.nextElementSibling;
    const status = holder && holder.querySelector('.pht-copied');
    const text = pre ? pre.textContent : '';
    let ok = false;
    try { await navigator.clipboard.writeText(text); ok = true; } catch (e) {
      const area = document.createElement('textarea');
      area.value = text; document.body.appendChild(area); area.select();
      try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
      area.remove();
    }
    if (status) status.textContent = ok ? 'Copied' : 'Copy failed: select the text instead';
    setTimeout(() => { if (status) status.textContent = ''; }, 2500);
  };
  const back = (entry) => {
    const marker = lastMarker && document.body.contains(lastMarker) ? lastMarker
      : document.querySelector(`a.pht-cite[href="#${entry.id}"]`);
    if (marker) { marker.focus(); marker.scrollIntoView({block: 'nearest'}); }
  };
  document.addEventListener('click', (ev) => {
    const t = ev.target;
    if (!(t instanceof Element)) return;
    const cite = t.closest('a.pht-cite');
    if (cite) {
      const target = document.getElementById((cite.getAttribute('href') || '').slice(1));
      if (!target) return;
      ev.preventDefault(); ev.stopPropagation();
      lastMarker = cite;
      target.open = true;
      const summary = target.querySelector('summary');
      target.scrollIntoView({block: 'nearest'});
      if (summary) summary.focus({preventScroll: true});
      target.classList.add('pht-flash');
      setTimeout(() => target.classList.remove('pht-flash'), 1200);
      return;
    }
    const askLink = t.closest('a.pht-ask');
    if (askLink) { ev.preventDefault(); ev.stopPropagation(); ask(askLink.textContent.trim()); return; }
    const copyButton = t.closest('button.pht-copy');
    if (copyButton) { ev.preventDefault(); ev.stopPropagation(); copy(copyButton); return; }
    const backButton = t.closest('button.pht-back');
    if (backButton) { ev.preventDefault(); ev.stopPropagation(); back(backButton.closest('details.pht-source')); }
  }, true);
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || !(ev.target instanceof Element)) return;
    const entry = ev.target.closest('details.pht-source');
    if (entry) { ev.preventDefault(); back(entry); }
  }, true);
})();
