/**
 * Getting an image in: drop it on the zone, paste it, pick a file, or take a photo on a phone.
 * Every route ends in `decodeImage`, which checks the bytes are an image before decoding and
 * decodes a huge photo straight to a small size, so no input freezes or crashes the page.
 */
import type { RgbaImage } from '../compute/index.ts';
import { h } from './dom.ts';
import { HEADER_BYTES, fitWithin, readImageHeader } from './image-size.ts';

/** The longest side an image is decoded at: plenty for any model input, small for memory. */
const MAX_DECODE_SIDE = 1024;

export interface DecodedImage {
  name: string;
  pixels: RgbaImage;
  /** The file's own size, before any downscaling. */
  originalWidth: number;
  originalHeight: number;
  /** A canvas showing the decoded image (for the preview). */
  canvas: HTMLCanvasElement;
}

export async function decodeImage(file: Blob, name = (file as File).name || 'pasted image'): Promise<DecodedImage> {
  const head = new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer());
  const header = readImageHeader(head);
  if (!header) {
    const kind = file.type ? ` (${file.type})` : '';
    throw new Error(`“${name}”${kind} is not an image this page can read. Choose a photo: JPEG, PNG, WebP, GIF or BMP.`);
  }
  let bitmap: ImageBitmap;
  try {
    const known = header.width !== null && header.height !== null && header.width > 0 && header.height > 0;
    const target = known ? fitWithin(header.width as number, header.height as number, MAX_DECODE_SIDE) : null;
    const shrink = known && target !== null && target.width < (header.width as number);
    bitmap = await createImageBitmap(file, shrink ? { resizeWidth: target.width, resizeHeight: target.height, resizeQuality: 'medium' } : {});
  } catch (err) {
    throw new Error(`“${name}” looks like a ${header.format.toUpperCase()} file but could not be decoded: it may be damaged or truncated.`, { cause: err });
  }
  try {
    // A format whose header gave no size is decoded first and shrunk here instead.
    const size = fitWithin(bitmap.width, bitmap.height, MAX_DECODE_SIDE);
    const canvas = h('canvas', { class: 'preview-image', 'aria-hidden': 'true' });
    canvas.width = size.width;
    canvas.height = size.height;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('this browser gave no 2D canvas to read the image with');
    context.drawImage(bitmap, 0, 0, size.width, size.height);
    const data = context.getImageData(0, 0, size.width, size.height).data;
    return { name, pixels: { width: size.width, height: size.height, data }, originalWidth: header.width ?? bitmap.width, originalHeight: header.height ?? bitmap.height, canvas };
  } finally {
    bitmap.close();
  }
}

export interface ImageInputOptions {
  /** An image file arrived by any route (not yet checked). */
  onFile: (file: File) => void;
}

/** The drop zone with its buttons. Paste works anywhere on the page. */
export function createImageInput({ onFile }: ImageInputOptions): HTMLElement {
  const picker = h('input', { type: 'file', accept: 'image/*', class: 'visually-hidden', id: 'image-file', 'data-field': 'image-file', tabindex: '-1', 'aria-label': 'Choose an image' });
  const camera = h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', 'data-field': 'camera', tabindex: '-1', 'aria-label': 'Take a photo' });
  const chooseButton = h('button', { type: 'button' }, 'Choose an image');
  const cameraButton = h('button', { type: 'button', class: 'secondary' }, 'Take a photo');
  const zone = h(
    'div',
    { class: 'drop-zone', 'data-field': 'drop-zone', role: 'group', 'aria-label': 'Image to classify: drop, paste, choose or take a photo' },
    h('p', {}, h('strong', {}, 'Drop an image here'), ' or paste one (Ctrl/⌘+V)'),
    h('div', { class: 'row center' }, chooseButton, cameraButton),
    picker,
    camera,
  );
  const take = (files: FileList | null | undefined) => {
    const file = files?.[0];
    if (file) onFile(file);
  };
  chooseButton.addEventListener('click', () => picker.click());
  cameraButton.addEventListener('click', () => camera.click());
  for (const input of [picker, camera]) {
    input.addEventListener('change', () => {
      take(input.files);
      input.value = ''; // the same file again is a new choice
    });
  }
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    take(event.dataTransfer?.files);
  });
  document.addEventListener('paste', (event) => {
    const target = event.target as HTMLElement | null;
    if (target?.closest('input, textarea')) return; // pasting text into a field
    const file = [...(event.clipboardData?.files ?? [])][0];
    if (file) {
      event.preventDefault();
      onFile(file);
    }
  });
  return zone;
}

/** Draws a model input ([H, W, C] in [0, 1]) as a canvas, scaled up crisply by CSS. */
export function drawModelInput(values: Float32Array, [height, width, channels]: readonly [number, number, number]): HTMLCanvasElement {
  const canvas = h('canvas', { class: 'model-input', 'data-field': 'model-input', role: 'img', 'aria-label': `What the model sees: ${width}×${height} ${channels === 1 ? 'grayscale' : 'colour'}` });
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  if (!context) return canvas;
  const image = context.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) image.data[i * 4 + c] = Math.round(255 * (values[i * channels + (channels === 1 ? 0 : c)] as number));
    image.data[i * 4 + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return canvas;
}
