() => { const el = document.activeElement; if (!el || el === document.body) return 'nothing focused';
  const s = getComputedStyle(el); return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 ? '' : `no focus ring on ${el.tagName}`; }
