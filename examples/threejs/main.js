// The reference page: load STEM.glb and STEM.wrinkles.json, set morph weights from the URL, draw
// the head with the wrinkle blend (mode=view) and/or the blend itself in UV space (mode=uv).
// The result (PNG data URL of the view, base64 float32 RGBA of the UV map) goes into #result as
// JSON, and is POSTed to ?report=URL when given (the test suite's loopback server).

import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { applyWrinkles, loadPackedTextures, regionWeights, uvBlendMaterial } from './headsmith_wrinkles.js';

const params = new URLSearchParams(location.search);
const result = document.getElementById('result');

function report(obj) {
  result.textContent = JSON.stringify(obj);
  document.title = obj.ok ? 'done' : 'failed';
  // a test harness passes ?report=URL to receive the result (headless Chromium keeps no DOM to read)
  if (params.get('report')) fetch(params.get('report'), { method: 'POST', body: result.textContent });
}

function skinMeshes(root) {
  const out = [];
  root.traverse((o) => { if (o.isMesh && o.material && o.material.name.endsWith('Skin')) out.push(o); });
  return out;
}

function setPose(root, weights, jaw) {
  root.traverse((o) => {
    if (o.morphTargetDictionary) {
      for (const [name, v] of Object.entries(weights)) {
        const i = o.morphTargetDictionary[name];
        if (i !== undefined) o.morphTargetInfluences[i] = v;
      }
    }
    if (o.isBone && o.name === 'jaw') o.rotation.x += jaw;
  });
}

function renderView(renderer, scene, root, size) {
  const box = new THREE.Box3().setFromObject(root);
  const center = box.getCenter(new THREE.Vector3());
  const height = box.getSize(new THREE.Vector3()).y;
  const camera = new THREE.PerspectiveCamera(18, 1, 0.01, 100);
  camera.position.set(center.x, center.y + 0.05 * height, center.z + 3.4 * height);
  camera.lookAt(center.x, center.y + 0.05 * height, center.z);
  const key = new THREE.DirectionalLight(0xffffff, 3.0);
  key.position.set(0.0, 1.0, 0.35);          // from above: forehead furrows catch it
  scene.add(key, new THREE.AmbientLight(0xffffff, 0.35));
  renderer.setSize(size, size);
  renderer.render(scene, camera);
  return renderer.domElement.toDataURL('image/png');
}

function renderUV(renderer, skins, sidecar, textures, weights, size, supersample) {
  const staticNormal = skins[0].material.normalMap;
  const { material, uniforms } = uvBlendMaterial(sidecar, textures, staticNormal);
  uniforms.hsW.value = weights;
  const scene = new THREE.Scene();
  for (const m of skins) scene.add(new THREE.Mesh(m.geometry, material));
  const big = size * supersample;
  const target = new THREE.WebGLRenderTarget(big, big, { depthBuffer: false, type: THREE.FloatType });
  renderer.setRenderTarget(target);
  renderer.setClearColor(0x000000, 0);
  renderer.clear();
  renderer.render(scene, new THREE.Camera());
  const px = new Float32Array(big * big * 4);
  renderer.readRenderTargetPixels(target, 0, 0, big, big, px);
  renderer.setRenderTarget(null);
  // the mean of each supersample x supersample block: a texel's area, not its centre
  const out = new Float32Array(size * size * 4);
  const n = supersample * supersample;
  for (let y = 0; y < big; y++) {
    for (let x = 0; x < big; x++) {
      const o = (Math.floor(y / supersample) * size + Math.floor(x / supersample)) * 4, i = (y * big + x) * 4;
      for (let c = 0; c < 4; c++) out[o + c] += px[i + c] / n;
    }
  }
  const bytes = new Uint8Array(out.buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);   // float32 RGBA, rows from uv.y = 0 (the image's top row, glTF's UV origin) down
}

async function main() {
  const glbUrl = params.get('glb');
  const sidecarUrl = params.get('sidecar') || glbUrl.replace(/\.glb$/, '.wrinkles.json');
  const weights = JSON.parse(params.get('weights') || '{}');
  const jaw = parseFloat(params.get('jaw') || '0');
  const mode = params.get('mode') || 'view';
  const size = parseInt(params.get('size') || '512', 10);
  const supersample = parseInt(params.get('supersample') || '1', 10);
  const sidecar = await (await fetch(sidecarUrl)).json();
  const folder = sidecarUrl.replace(/[^/]*$/, '') + sidecar.folder;
  const gltf = await new GLTFLoader().loadAsync(glbUrl);
  const textures = await loadPackedTextures(folder, sidecar, { mipmaps: mode === 'view' });
  const skins = skinMeshes(gltf.scene);
  if (!skins.length) throw new Error('no material named ...Skin in the glb');
  const w = regionWeights(sidecar, weights, jaw);
  const out = { ok: true, skins: skins.length, activeWeights: Array.from(w).filter((v) => v > 0).length };
  const renderer = new THREE.WebGLRenderer({ antialias: false, preserveDrawingBuffer: true });
  renderer.toneMapping = THREE.NoToneMapping;
  if (mode === 'uv' || mode === 'both') out.uv = renderUV(renderer, skins, sidecar, textures, w, size, supersample);
  if (mode === 'view' || mode === 'both') {
    if (params.get('wrinkles') !== 'off') {
      for (const m of skins) applyWrinkles(m.material, sidecar, textures).hsW.value = w;
    }
    setPose(gltf.scene, weights, jaw);
    const scene = new THREE.Scene();
    scene.background = new THREE.Color(0x202020);
    scene.add(gltf.scene);
    out.view = renderView(renderer, scene, gltf.scene, size);
  }
  report(out);
}

window.addEventListener('error', (e) => report({ ok: false, error: String(e.message) }));
main().catch((e) => report({ ok: false, error: String(e && e.stack || e) }));
