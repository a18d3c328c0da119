() => {
  const problems = [];
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !visible(el)) continue;
    const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!named) problems.push(`no label: ${el.outerHTML.slice(0, 80)}`);
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (visible(el) && !(el.textContent.trim() || el.getAttribute('aria-label'))) problems.push(`no name: ${el.outerHTML.slice(0, 80)}`);
  }
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const lum = ({ r, g, b }) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.9) return c; if (getComputedStyle(e).backgroundImage !== 'none') return null; } return { r: 255, g: 255, b: 255, a: 1 }; };
  const seen = new Set();
  for (const node of document.querySelectorAll('body *')) {
    if (!visible(node) || node.closest('canvas, svg, .wave, [aria-hidden=true], .visually-hidden')) continue;
    const own = [...node.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const s = getComputedStyle(node);
    const fg = parse(s.color); const bg = background(node);
    if (!fg || !bg) continue;
    const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.6 && Number(s.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    if (ratio + 0.01 < need * (fg.a < 1 ? 1 : 1)) {
      const key = `${node.tagName}.${node.className}`;
      if (!seen.has(key)) { seen.add(key); problems.push(`contrast ${ratio.toFixed(2)} < ${need}: ${key} "${node.textContent.trim().slice(0, 30)}"`); }
    }
  }
  return problems;
}
