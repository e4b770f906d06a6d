// The front end of vaelib's decoding widgets (vaelib/widgets/decoders.py): the latent navigator and the
// reconstruction sampler. An anywidget ES module: the same file runs in JupyterLab (anywidget's
// lab extension) and in the book's static pages (anywidget's AMD front end, served by the site
// itself: _ext/offline_assets.py), and tests import its `decode` in Node (tests/test_decoder_widget.py).
//
// The decoder's weights travel in the widget state (a DecoderWeights widget, shared by the widgets
// of a page), so decoding runs here, in the reader's browser, with no kernel:
//   logits = W3' relu(W2' relu(W1' z + b1) + b2) + b3,   pixels = sigmoid(logits)
// with Keras's kernels (n_in x n_out, row-major), sums in float64 over the weights rounded to float16
// (vaelib.widgets.pack_floats: they halve the page's weight; the pixels are those of Keras with the same
// rounded weights within 1e-5, and of Keras's float32 model within vaelib.widgets.FLOAT16_TOLERANCE).

const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]; // matplotlib's tab10: the book's digit colours
const MAGMA = [[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97], [252, 253, 191]];

// --- weights ---------------------------------------------------------------------------------------

export function asBytes(value) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`expected binary data (ArrayBuffer or typed array), got ${Object.prototype.toString.call(value)}`);
}

export async function inflate(bytes) {
  // zlib stream (Python's zlib.compress): its Adler-32 checksum is verified by the browser
  const stream = new Blob([asBytes(bytes)]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export function halfToFloat(h) {
  // an IEEE 754 half-precision value (its 16 bits) as a number: exact (every float16 is a float32)
  const sign = h & 0x8000 ? -1 : 1, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

export function unshuffle(planes) {
  // the inverse of the byte shuffle in vaelib.widgets.pack_floats: the low byte of value k is planes[k],
  // its high byte planes[n + k] (little-endian float16)
  if (planes.length % 2 !== 0) throw new Error(`weights: ${planes.length} bytes is not a whole number of float16 values`);
  const n = planes.length / 2;
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = halfToFloat(planes[k] | (planes[n + k] << 8));
  return out;
}

export async function unpackFloats(packed) {
  return unshuffle(await inflate(packed));
}

// shapes: [[n_in, n_out], [n_out], ...] in the order kernel, bias, kernel, bias, ...
export function layersFrom(values, shapes) {
  const layers = [];
  let at = 0;
  for (let i = 0; i < shapes.length; i += 2) {
    const [nIn, nOut] = shapes[i];
    if (!shapes[i + 1] || shapes[i + 1][0] !== nOut) throw new Error(`weights: layer ${i / 2} has no bias of length ${nOut}`);
    const W = values.subarray(at, at + nIn * nOut); at += nIn * nOut;
    const b = values.subarray(at, at + nOut); at += nOut;
    layers.push({ W, b, nIn, nOut });
  }
  if (at !== values.length) throw new Error(`weights: ${values.length} values for shapes needing ${at}`);
  if (layers[0].nIn !== 2) throw new Error(`weights: the decoder must take a 2-D code, got ${layers[0].nIn}`);
  return layers;
}

export async function unpackDecoder(packed, shapes) {
  return layersFrom(await unpackFloats(packed), shapes);
}

// Decode one code z (length 2) into the pixel means (Float64Array of the last layer's size).
export function decode(layers, z) {
  let x = Float64Array.from(z);
  for (let l = 0; l < layers.length; l++) {
    const { W, b, nIn, nOut } = layers[l];
    const y = Float64Array.from(b);
    for (let i = 0; i < nIn; i++) {
      const xi = x[i];
      if (xi === 0) continue; // ReLU zeros: most of the hidden units, at most points
      const row = i * nOut;
      for (let j = 0; j < nOut; j++) y[j] += xi * W[row + j];
    }
    if (l < layers.length - 1) {
      for (let j = 0; j < nOut; j++) if (y[j] < 0) y[j] = 0;
    } else {
      for (let j = 0; j < nOut; j++) y[j] = 1 / (1 + Math.exp(-y[j]));
    }
    x = y;
  }
  return x;
}

// --- drawing ---------------------------------------------------------------------------------------

function element(tag, className, parent) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (parent) parent.appendChild(e);
  return e;
}

function drawDigit(canvas, pixels) {
  // dark on white, as the book's figures show digits
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  for (let k = 0; k < 784; k++) {
    const grey = Math.round(255 * (1 - Math.min(1, Math.max(0, pixels[k]))));
    image.data[4 * k] = image.data[4 * k + 1] = image.data[4 * k + 2] = grey;
    image.data[4 * k + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

function magma(t) {
  const s = Math.min(1, Math.max(0, t)) * (MAGMA.length - 1);
  const i = Math.min(MAGMA.length - 2, Math.floor(s));
  const f = s - i;
  return MAGMA[i].map((c, k) => Math.round(c + f * (MAGMA[i + 1][k] - c)));
}

function bytesOf(model, name) {
  const value = model.get(name);
  return value == null ? null : asBytes(value);
}

function floatsOf(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let k = 0; k < out.length; k++) out[k] = view.getFloat32(4 * k, true);
  return out;
}

const DECODERS = new WeakMap(); // DecoderWeights model -> Promise of its layers (unpacked once per page)

async function decoderOf(model, reference) {
  if (typeof reference !== "string" || !reference.startsWith("IPY_MODEL_")) {
    throw new Error(`decoder reference must be "IPY_MODEL_<id>", got ${JSON.stringify(reference)}`);
  }
  const holder = await model.widget_manager.get_model(reference.slice("IPY_MODEL_".length));
  if (!DECODERS.has(holder)) DECODERS.set(holder, unpackDecoder(bytesOf(holder, "weights"), holder.get("shapes")));
  return DECODERS.get(holder);
}

function fail(el, error) {
  console.warn("vaelib decoder widget:", error);
  element("div", "vaelib-widget-error", el).textContent = `could not start the decoder: ${error.message || error}`;
}

// --- the latent navigator --------------------------------------------------------------------------

const PLANE = 340; // CSS pixels

function renderNavigator(model, el) {
  const root = element("div", "vaelib-latent-navigator vaelib-decoder-widget", el);
  const bar = element("div", "vaelib-navigator-bar", root);
  const choices = model.get("choices");
  let select = null;
  if (choices.length > 1) {
    const label = element("label", "", bar);
    label.textContent = "model ";
    select = element("select", "vaelib-model-choice", label);
    choices.forEach((name, i) => { const o = element("option", "", select); o.value = String(i); o.textContent = name; });
  }
  const readout = element("span", "vaelib-z-readout", bar);
  const row = element("div", "vaelib-navigator-row", root);
  const plane = element("canvas", "vaelib-plane", row);
  plane.tabIndex = 0;
  plane.setAttribute("role", "application");
  plane.setAttribute("aria-roledescription", "latent plane");
  const digit = element("canvas", "vaelib-digit", row);
  digit.width = digit.height = 28;
  digit.setAttribute("role", "img");
  const legend = element("div", "vaelib-digit-legend", root);
  legend.append("codes of test digits: ");
  TAB10.forEach((colour, d) => {
    const swatch = element("i", "", legend);
    swatch.style.background = colour;
    legend.append(String(d));
  });
  const hint = element("div", "vaelib-navigator-hint", root);
  hint.textContent = "Drag on the plane, or focus it and use the arrow keys (Shift: larger steps), to move z.";
  const ratio = window.devicePixelRatio || 1;
  plane.width = plane.height = Math.round(PLANE * ratio);
  const ctx = plane.getContext("2d");
  const labels = bytesOf(model, "labels");
  const backgrounds = new Map(); // model index -> canvas with the density, circle and codes
  const layersByIndex = new Map();
  let decodes = 0;

  const index = () => choices.indexOf(model.get("selected"));
  const limit = () => model.get("limits")[index()];
  const toPixel = (v) => (v / limit() + 1) * 0.5 * plane.width;

  function background(i) {
    if (backgrounds.has(i)) return backgrounds.get(i);
    const L = model.get("limits")[i], W = plane.width;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = W;
    const g = canvas.getContext("2d");
    const density = g.createImageData(W, W); // the prior N(0, I): grey, darker where it is denser
    for (let py = 0; py < W; py++) {
      const z2 = L * (1 - 2 * (py + 0.5) / W);
      for (let px = 0; px < W; px++) {
        const z1 = L * (2 * (px + 0.5) / W - 1);
        const shade = Math.round(255 - 110 * Math.exp(-0.5 * (z1 * z1 + z2 * z2)));
        const k = 4 * (py * W + px);
        density.data[k] = density.data[k + 1] = density.data[k + 2] = shade;
        density.data[k + 3] = 255;
      }
    }
    g.putImageData(density, 0, 0);
    const p = (v) => (v / L + 1) * 0.5 * W;
    const codes = floatsOf(asBytes(model.get("codes")[i]));
    const r = 1.6 * ratio;
    for (let k = 0; k < codes.length / 2; k++) {
      g.fillStyle = TAB10[labels[k] % 10];
      g.fillRect(p(codes[2 * k]) - r / 2, W - p(codes[2 * k + 1]) - r / 2, r, r);
    }
    g.strokeStyle = "black"; g.lineWidth = ratio; g.setLineDash([5 * ratio, 4 * ratio]);
    g.beginPath(); g.arc(p(0), W - p(0), (2 / L) * 0.5 * W, 0, 2 * Math.PI); g.stroke(); // radius 2: 86 % of the prior
    g.setLineDash([]); g.strokeStyle = "rgba(0,0,0,0.35)";
    g.beginPath(); g.moveTo(p(0), 0); g.lineTo(p(0), W); g.moveTo(0, W - p(0)); g.lineTo(W, W - p(0)); g.stroke();
    g.fillStyle = "black"; g.font = `${11 * ratio}px sans-serif`;
    g.fillText(`z₁ = ${L.toFixed(1)}`, W - 62 * ratio, W - p(0) - 4 * ratio);
    g.fillText(`z₂ = ${L.toFixed(1)}`, p(0) + 4 * ratio, 13 * ratio);
    backgrounds.set(i, canvas);
    return canvas;
  }

  function draw() {
    const i = index();
    const [z1, z2] = model.get("z");
    const layers = layersByIndex.get(i);
    ctx.drawImage(background(i), 0, 0);
    const x = toPixel(z1), y = plane.height - toPixel(z2), s = 7 * ratio;
    ctx.strokeStyle = "black"; ctx.lineWidth = 3 * ratio;
    ctx.beginPath(); ctx.moveTo(x - s, y - s); ctx.lineTo(x + s, y + s); ctx.moveTo(x - s, y + s); ctx.lineTo(x + s, y - s); ctx.stroke();
    readout.textContent = ` z = (${z1.toFixed(2)}, ${z2.toFixed(2)})`;
    plane.setAttribute("aria-label", `latent plane of ${choices[i]}; z = (${z1.toFixed(2)}, ${z2.toFixed(2)})`);
    if (select) select.value = String(i);
    if (layers) {
      drawDigit(digit, decode(layers, [z1, z2]));
      decodes += 1;
      root.dataset.decodes = String(decodes);
      digit.setAttribute("aria-label", `decoded image of z = (${z1.toFixed(2)}, ${z2.toFixed(2)})`);
    }
  }

  function moveTo(z1, z2) {
    // the change of z redraws (below), once per pointer event, as a change made from Python does
    const L = limit();
    const clip = (v) => Math.min(L, Math.max(-L, v));
    model.set("z", [clip(z1), clip(z2)]);
    model.save_changes();
  }

  function fromEvent(event) {
    const box = plane.getBoundingClientRect();
    const L = limit();
    moveTo(L * (2 * (event.clientX - box.left) / box.width - 1), L * (1 - 2 * (event.clientY - box.top) / box.height));
  }

  let dragging = false;
  plane.addEventListener("pointerdown", (event) => {
    dragging = true; plane.focus(); plane.setPointerCapture(event.pointerId); fromEvent(event); event.preventDefault();
  });
  plane.addEventListener("pointermove", (event) => { if (dragging) fromEvent(event); });
  const stop = () => { dragging = false; };
  plane.addEventListener("pointerup", stop);
  plane.addEventListener("pointercancel", stop);
  plane.addEventListener("keydown", (event) => {
    const step = model.get("step") * (event.shiftKey ? 5 : 1);
    const move = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[event.key];
    if (!move) return;
    event.preventDefault();
    const [z1, z2] = model.get("z");
    moveTo(z1 + move[0], z2 + move[1]);
  });
  if (select) {
    select.addEventListener("change", () => {
      model.set("selected", choices[Number(select.value)]);
      const [z1, z2] = model.get("z");
      moveTo(z1, z2); // clipped into the new model's range
    });
  }
  let pending = false;
  const redraw = () => { // one redraw for the changes of one event (a model switch changes z too)
    if (pending) return;
    pending = true;
    queueMicrotask(() => { pending = false; draw(); });
  };
  model.on("change:z", redraw);
  model.on("change:selected", redraw);
  draw();
  Promise.all(model.get("decoders").map((ref) => decoderOf(model, ref)))
    .then((all) => { all.forEach((layers, i) => layersByIndex.set(i, layers)); root.dataset.ready = "true"; draw(); })
    .catch((error) => fail(root, error));
  return () => { model.off("change:z", redraw); model.off("change:selected", redraw); };
}

// --- the reconstruction sampler --------------------------------------------------------------------

function normal() {
  // a standard normal draw (Box-Muller) from the browser's cryptographic generator: a new draw at each press
  const u = new Uint32Array(2);
  crypto.getRandomValues(u);
  const a = (u[0] + 1) / 4294967297, b = u[1] / 4294967296;
  return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
}

function renderSampler(model, el) {
  const root = element("div", "vaelib-reconstruction-sampler vaelib-decoder-widget", el);
  const bar = element("div", "vaelib-sampler-bar", root);
  const label = element("label", "", bar);
  label.textContent = "test digit ";
  const slider = element("input", "vaelib-digit-index", label);
  slider.type = "range"; slider.min = "0"; slider.max = String(model.get("n_images") - 1); slider.step = "1";
  const shown = element("span", "vaelib-digit-index-readout", bar);
  const button = element("button", "vaelib-resample-button", bar);
  button.type = "button";
  button.textContent = "encode again";
  const row = element("div", "vaelib-sampler-row", root);
  const n = model.get("n_draws");
  const cols = Math.ceil(Math.sqrt(n + 1));
  const rows = Math.ceil((n + 1) / cols);
  const grid = element("canvas", "vaelib-draws", row);
  grid.width = cols * 29 + 1; grid.height = rows * 29 + 1;
  grid.style.width = `${grid.width * 3}px`;
  grid.setAttribute("role", "img");
  const spreadBox = element("figure", "vaelib-spread", row);
  const spread = element("canvas", "vaelib-spread-map", spreadBox);
  spread.width = spread.height = 28;
  const caption = element("figcaption", "", spreadBox);
  const summary = element("div", "vaelib-sampler-summary", root);
  const images = bytesOf(model, "images");
  let layers = null;
  let draws_made = 0;

  function draw() {
    const i = model.get("index");
    const draws = model.get("draw_codes");
    slider.value = String(i);
    shown.textContent = ` ${i} `;
    if (!layers) return;
    const g = grid.getContext("2d");
    g.fillStyle = "white"; g.fillRect(0, 0, grid.width, grid.height);
    const tile = document.createElement("canvas"); tile.width = tile.height = 28;
    const decoded = draws.map((z) => decode(layers, z));
    const original = Array.from(images.subarray(784 * i, 784 * (i + 1)), (v) => v / 255);
    [original, ...decoded].forEach((pixels, k) => {
      drawDigit(tile, pixels);
      g.drawImage(tile, 1 + (k % cols) * 29, 1 + Math.floor(k / cols) * 29);
    });
    g.strokeStyle = "#d62728"; g.lineWidth = 1; g.strokeRect(0.5, 0.5, 29, 29); // the test digit itself
    // per-pixel standard deviation across the decodings (ddof = 1), as vaelib.measures.latent_space.decoding_spread
    const std = new Float64Array(784);
    let mean = 0, largest = 0;
    for (let p = 0; p < 784; p++) {
      let m = 0; for (const d of decoded) m += d[p]; m /= decoded.length;
      let v = 0; for (const d of decoded) v += (d[p] - m) ** 2;
      std[p] = Math.sqrt(v / (decoded.length - 1)); mean += std[p]; largest = Math.max(largest, std[p]);
    }
    mean /= 784;
    const s = spread.getContext("2d");
    const map = s.createImageData(28, 28);
    for (let p = 0; p < 784; p++) {
      const [r, gg, b] = magma(largest > 0 ? std[p] / largest : 0);
      map.data.set([r, gg, b, 255], 4 * p);
    }
    s.putImageData(map, 0, 0);
    caption.textContent = `spread: per-pixel std (brightest ${largest.toFixed(4)})`;
    summary.textContent = `mean per-pixel standard deviation across the ${n} decodings: ${mean.toFixed(4)} ` +
      `(largest ${largest.toFixed(4)})`;
    grid.setAttribute("aria-label", `test digit ${i} and ${n} decodings of draws from its q(z|x)`);
    root.dataset.draws = String(++draws_made);
  }

  function drawAgain(i) {
    // z = mu + sigma * epsilon (eq. 2), epsilon drawn here; the draws go back to the model (and kernel)
    const mu = model.get("mu")[i], sigma = model.get("sigma")[i];
    const draws = Array.from({ length: n }, () => mu.map((m, d) => m + sigma[d] * normal()));
    model.set("index", i);
    model.set("draw_codes", draws);
    model.save_changes();
    draw();
  }

  slider.addEventListener("input", () => drawAgain(Number(slider.value)));
  button.addEventListener("click", () => drawAgain(Number(model.get("index"))));
  const redraw = () => draw();
  model.on("change:draw_codes", redraw);
  model.on("change:index", redraw);
  draw();
  decoderOf(model, model.get("decoder"))
    .then((l) => { layers = l; root.dataset.ready = "true"; draw(); })
    .catch((error) => fail(root, error));
  return () => { model.off("change:draw_codes", redraw); model.off("change:index", redraw); };
}

function render({ model, el }) {
  const kind = model.get("kind");
  if (kind === "navigator") return renderNavigator(model, el);
  if (kind === "sampler") return renderSampler(model, el);
  throw new Error(`unknown vaelib widget kind ${JSON.stringify(kind)} (expected "navigator" or "sampler")`);
}

export default { render };
