// Headsmith's engine wrinkle contract in three.js: blend the packed wrinkle normal maps of
// STEM.wrinkles.json from the glb's morph-target weights, with no Headsmith code.
//
//   w[r][k] = clamp(sum_j coef[r][k][morph j] * weight_j + coef.jaw_open_rad * jaw + coef.bias, 0, weight_max)
//   n       = normalize(N_static + sum_k (sum_r w[r][k] * mask_r) * (N_k - N_static))
//
// N_static is the glb's own normal map; N_k and mask_r are decoded from the `packed` textures as
// the sidecar's `packed.decode` says. Everything here reads the sidecar: keys, regions, files.

import * as THREE from 'three';

const CHANNELS = ['r', 'g', 'b', 'a'];

/** Per (region, key) blend weights, row-major [region][key], from morph weights {name: value}
 *  and the jaw opening in radians. */
export function regionWeights(sidecar, morphWeights, jawRad = 0) {
  const { regions, keys, coefficients, weight_range: [lo, hi] } = sidecar;
  const w = new Float32Array(regions.length * keys.length);
  regions.forEach((r, ri) => keys.forEach((k, ki) => {
    const terms = (coefficients[r] || {})[k];
    if (!terms) return;
    let v = 0;
    for (const [name, c] of Object.entries(terms)) {
      if (name === 'bias') v += c;
      else if (name === 'jaw_open_rad') v += c * jawRad;
      else v += c * (morphWeights[name] || 0);
    }
    w[ri * keys.length + ki] = Math.min(hi, Math.max(lo, v));
  }));
  return w;
}

/** The packed textures as linear data: no colour conversion, no premultiplied alpha (alpha is a
 *  channel of data), no flip (glTF's UV origin is the image's top left). */
export async function loadPackedTextures(folderUrl, sidecar, { mipmaps = true } = {}) {
  const loader = new THREE.ImageBitmapLoader();
  loader.setOptions({ imageOrientation: 'none', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  const files = [...Object.keys(sidecar.packed.normals), ...Object.keys(sidecar.packed.masks)];
  const textures = {};
  await Promise.all(files.map(async (f) => {
    const bitmap = await loader.loadAsync(`${folderUrl}/${f}`);
    const t = new THREE.Texture(bitmap);
    t.flipY = false;
    t.colorSpace = THREE.NoColorSpace;
    t.premultiplyAlpha = false;
    t.generateMipmaps = mipmaps;
    t.minFilter = mipmaps ? THREE.LinearMipmapLinearFilter : THREE.LinearFilter;
    t.needsUpdate = true;
    textures[f] = t;
  }));
  return textures;
}

/** GLSL: uniforms and `vec3 headsmithWrinkleNormal(vec3 nStatic, vec2 uv)` (unnormalised blend,
 *  tangent space), generated from the sidecar's layout. */
export function wrinkleGLSL(sidecar) {
  const { keys, regions, packed } = sidecar;
  const nFiles = Object.keys(packed.normals), mFiles = Object.keys(packed.masks);
  const lines = [];
  nFiles.forEach((_, i) => lines.push(`uniform sampler2D hsNormals${i};`));
  mFiles.forEach((_, i) => lines.push(`uniform sampler2D hsMasks${i};`));
  lines.push(`uniform float hsW[${regions.length * keys.length}];`);
  lines.push('vec3 hsKeyNormal(vec2 c) { vec2 xy = c * 2.0 - 1.0; return vec3(xy, sqrt(max(0.0, 1.0 - dot(xy, xy)))); }');
  lines.push('vec3 headsmithWrinkleNormal(vec3 nStatic, vec2 uv) {');
  nFiles.forEach((_, i) => lines.push(`  vec4 hn${i} = texture2D(hsNormals${i}, uv);`));
  mFiles.forEach((_, i) => lines.push(`  vec4 hm${i} = texture2D(hsMasks${i}, uv);`));
  const channel = {};
  mFiles.forEach((f, i) => packed.masks[f].forEach((ch, j) => { channel[ch] = `hm${i}.${CHANNELS[j]}`; }));
  regions.forEach((r, ri) => {
    const { channel: ch, side } = packed.regions[r];
    const s = channel.side;
    const factor = side === 'left' ? ` * ${s}` : side === 'right' ? ` * (1.0 - ${s})` : '';
    lines.push(`  float hsMask${ri} = ${channel[ch]}${factor};`);
  });
  lines.push('  vec3 n = nStatic;');
  nFiles.forEach((f, i) => packed.normals[f].forEach((k, j) => {
    const ki = keys.indexOf(k);
    const weight = regions.map((_, ri) => `hsW[${ri * keys.length + ki}] * hsMask${ri}`).join(' + ');
    const sw = j === 0 ? 'rg' : 'ba';
    lines.push(`  n += (${weight}) * (hsKeyNormal(hn${i}.${sw}) - nStatic);`);
  }));
  lines.push('  return n;', '}');
  return lines.join('\n');
}

function textureUniforms(sidecar, textures) {
  const u = {};
  Object.keys(sidecar.packed.normals).forEach((f, i) => { u[`hsNormals${i}`] = { value: textures[f] }; });
  Object.keys(sidecar.packed.masks).forEach((f, i) => { u[`hsMasks${i}`] = { value: textures[f] }; });
  u.hsW = { value: new Float32Array(sidecar.regions.length * sidecar.keys.length) };
  return u;
}

const NORMAL_SAMPLE = 'vec3 mapN = texture2D( normalMap, vNormalMapUv ).xyz * 2.0 - 1.0;';

/** Patch a glTF skin material (MeshStandard/Physical with a tangent-space normal map) so its
 *  normal map is the wrinkle blend. Returns the uniforms; set `uniforms.hsW.value` from
 *  `regionWeights` whenever the morph weights change. */
export function applyWrinkles(material, sidecar, textures) {
  const uniforms = textureUniforms(sidecar, textures);
  const glsl = wrinkleGLSL(sidecar);
  const chunk = THREE.ShaderChunk.normal_fragment_maps;
  if (!chunk.includes(NORMAL_SAMPLE)) {
    throw new Error('this three.js version samples the normal map differently; update NORMAL_SAMPLE');
  }
  const blended = chunk.replace(NORMAL_SAMPLE, 'vec3 mapN = normalize(headsmithWrinkleNormal('
    + 'texture2D( normalMap, vNormalMapUv ).xyz * 2.0 - 1.0, vNormalMapUv));');
  material.onBeforeCompile = (shader) => {
    Object.assign(shader.uniforms, uniforms);
    shader.fragmentShader = shader.fragmentShader
      .replace('#include <normalmap_pars_fragment>', `#include <normalmap_pars_fragment>\n${glsl}`)
      .replace('#include <normal_fragment_maps>', blended);
  };
  material.customProgramCacheKey = () => 'headsmith-wrinkles';
  material.needsUpdate = true;
  return uniforms;
}

/** A material that draws the blend into UV space (gl_Position = uv): the blended tangent normal
 *  as a colour 0.5 n + 0.5, unnormalised, what Blender's node graph feeds its Normal Map node. */
export function uvBlendMaterial(sidecar, textures, staticNormal) {
  const uniforms = { ...textureUniforms(sidecar, textures), hsStatic: { value: staticNormal } };
  const material = new THREE.ShaderMaterial({
    uniforms,
    vertexShader: 'varying vec2 vUv; void main() { vUv = uv; gl_Position = vec4(uv * 2.0 - 1.0, 0.0, 1.0); }',
    fragmentShader: `varying vec2 vUv;\nuniform sampler2D hsStatic;\n${wrinkleGLSL(sidecar)}\n`
      + 'void main() { vec3 n = headsmithWrinkleNormal(texture2D(hsStatic, vUv).xyz * 2.0 - 1.0, vUv);'
      + ' gl_FragColor = vec4(0.5 * n + 0.5, 1.0); }',
    side: THREE.DoubleSide,
  });
  return { material, uniforms };
}
