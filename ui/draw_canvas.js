// The drawing canvas of Setup -> Data (dataset "drawn"): an st.components.v2 component (ui/draw.py).
// Click places a point; a drag records a stroke, one point every `spacing` data units along the path.
// Python owns the drawing: `data.points` is what the server holds. A finished stroke is sent as a trigger
// ("strokes") together with every earlier stroke the server has not acknowledged yet (`data.seen[client]`
// is the last sequence number it applied for this canvas), so a stroke is neither lost when reruns overlap
// nor applied twice. Unacknowledged strokes stay drawn until the server's points include them.
export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  const root = parentElement.querySelector(".draw-root");
  const canvas = root.querySelector("canvas");
  let st = root.__draw;
  if (!st) {
    st = root.__draw = { client: Math.random().toString(36).slice(2, 10), seq: 0, pending: [], current: null,
                         hover: null, timer: null };
    bind(canvas, st);
  }
  st.data = data;
  st.send = setTriggerValue;
  const acked = (data.seen || {})[st.client] || 0;
  st.pending = st.pending.filter((s) => s.seq > acked);
  root.dataset.points = String(data.points.length);  // for tests: what the server holds
  root.dataset.pending = String(st.pending.length);
  draw(canvas, st);
}

function total(st) {
  return st.data.points.length + st.pending.reduce((n, s) => n + s.points.length, 0) +
    (st.current ? st.current.length : 0);
}

function toData(canvas, st, e) {
  const r = canvas.getBoundingClientRect();
  const b = st.data.box;
  const clamp = (v) => Math.max(-b, Math.min(b, v));
  const x = clamp(-b + (2 * b * (e.clientX - r.left)) / r.width);
  const y = clamp(b - (2 * b * (e.clientY - r.top)) / r.height);
  return [Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000];
}

function send(st) {
  if (!st.pending.length) return;
  st.send("strokes", { client: st.client, strokes: st.pending.map((s) => ({ seq: s.seq, points: s.points })) });
  clearTimeout(st.timer);  // a rerun that was cut short loses its trigger: send again until acknowledged
  st.timer = setTimeout(() => send(st), 2000);
}

function bind(canvas, st) {
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    if (total(st) >= st.data.max) return;
    canvas.setPointerCapture(e.pointerId);
    st.current = [toData(canvas, st, e)];
    draw(canvas, st);
  });
  canvas.addEventListener("pointermove", (e) => {
    const p = toData(canvas, st, e);
    st.hover = p;
    if (st.current) {
      const last = st.current[st.current.length - 1];
      const d = Math.hypot(p[0] - last[0], p[1] - last[1]);
      const n = Math.floor(d / st.data.spacing);
      for (let i = 1; i <= n && total(st) < st.data.max; i++) {  // evenly spaced, however fast the drag
        const t = (i * st.data.spacing) / d;
        st.current.push([Math.round((last[0] + (p[0] - last[0]) * t) * 1000) / 1000,
                         Math.round((last[1] + (p[1] - last[1]) * t) * 1000) / 1000]);
      }
    }
    draw(canvas, st);
  });
  const finish = () => {
    if (!st.current) return;
    st.seq += 1;
    st.pending.push({ seq: st.seq, points: st.current });
    st.current = null;
    send(st);
    draw(canvas, st);
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  canvas.addEventListener("pointerleave", () => { st.hover = null; draw(canvas, st); });
}

function draw(canvas, st) {
  const { size, box, color, max } = st.data;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(size * dpr)) {
    canvas.width = canvas.height = Math.round(size * dpr);
    canvas.style.width = canvas.style.height = `${size}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#fcfcfd";
  ctx.fillRect(0, 0, size, size);
  const px = (x) => ((x + box) / (2 * box)) * size;
  const py = (y) => ((box - y) / (2 * box)) * size;
  ctx.lineWidth = 1;
  for (let v = -box; v <= box; v += 1) {  // a grid line every unit, the axes darker
    ctx.strokeStyle = v === 0 ? "#b8bcc6" : "#eceef2";
    ctx.beginPath(); ctx.moveTo(px(v), 0); ctx.lineTo(px(v), size); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(0, py(v)); ctx.lineTo(size, py(v)); ctx.stroke();
  }
  ctx.fillStyle = "#8a8f9c";
  ctx.font = "11px system-ui, sans-serif";
  for (const v of [-box / 2, box / 2]) {
    ctx.fillText(String(v), px(v) + 3, py(0) - 4);
    ctx.fillText(String(v), px(0) + 4, py(v) + 4);
  }
  const dots = (pts, alpha) => {
    ctx.globalAlpha = alpha;
    ctx.fillStyle = color;
    for (const [x, y] of pts) { ctx.beginPath(); ctx.arc(px(x), py(y), 3, 0, 2 * Math.PI); ctx.fill(); }
    ctx.globalAlpha = 1;
  };
  dots(st.data.points, 0.9);
  for (const s of st.pending) dots(s.points, 0.6);
  if (st.current) dots(st.current, 0.6);
  const n = total(st);
  ctx.font = "600 13px system-ui, sans-serif";
  ctx.fillStyle = n >= max ? "#c0392b" : "#31333f";
  ctx.fillText(n >= max ? `${n} points: the most allowed` : `${n} point${n === 1 ? "" : "s"}`, 8, 18);
  if (!n) {
    ctx.fillStyle = "#8a8f9c";
    ctx.font = "14px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText("Click to place points, drag to draw", size / 2, size / 2 - 10);
    ctx.fillText("(or start from a shape)", size / 2, size / 2 + 10);
    ctx.textAlign = "start";
  }
  if (st.hover) {
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#5c6170";
    ctx.textAlign = "end";
    ctx.fillText(`x ${st.hover[0].toFixed(2)}  y ${st.hover[1].toFixed(2)}`, size - 8, size - 8);
    ctx.textAlign = "start";
  }
}
