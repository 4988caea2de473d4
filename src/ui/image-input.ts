/**
 * Getting images in: drop files or folders on the zone, paste one, pick files or a folder, or take
 * a photo on a phone. Every route ends in `decodeImage`, which checks the bytes are an image
 * before decoding and decodes a huge photo straight to a small size, so no input freezes or
 * crashes the page; `notAnImage` tells a batch which files to skip before any decoding.
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

/** Enough bytes to tell every format readImageHeader knows (not always its size). */
const SNIFF_BYTES = 64;

const notImageText = (file: Blob, name: string) => `“${name}”${file.type ? ` (${file.type})` : ''} is not an image this page can read`;

/** Why a file cannot be classified (it is no image this page reads), or null when it looks like one. Reads its first bytes only. */
export async function notAnImage(file: File, name = displayName(file)): Promise<string | null> {
  const head = new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer());
  return readImageHeader(head) ? null : `${notImageText(file, name)}: skipped.`;
}

/** The name a file is shown by: its path inside a picked or dropped folder when it has one. */
export function displayName(file: File): string {
  return file.webkitRelativePath || file.name || 'pasted image';
}

export async function decodeImage(file: Blob, name = (file as File).name || 'pasted image'): Promise<DecodedImage> {
  const head = new Uint8Array(await file.slice(0, HEADER_BYTES).arrayBuffer());
  const header = readImageHeader(head);
  if (!header) throw new Error(`${notImageText(file, name)}. Choose a photo: JPEG, PNG, WebP, GIF or BMP.`);
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
  /** Files arrived by any route (not yet checked): one image, several, or a folder's contents. */
  onFiles: (files: File[]) => void;
}

/** The drop zone with its buttons. Paste works anywhere on the page. */
export function createImageInput({ onFiles }: ImageInputOptions): HTMLElement {
  const picker = h('input', { type: 'file', accept: 'image/*', multiple: true, class: 'visually-hidden', id: 'image-file', 'data-field': 'image-file', tabindex: '-1', 'aria-label': 'Choose images' });
  const folder = h('input', { type: 'file', webkitdirectory: true, class: 'visually-hidden', 'data-field': 'image-folder', tabindex: '-1', 'aria-label': 'Choose a folder of images' });
  const camera = h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', 'data-field': 'camera', tabindex: '-1', 'aria-label': 'Take a photo' });
  const chooseButton = h('button', { type: 'button' }, 'Choose an image');
  const folderButton = h('button', { type: 'button', class: 'secondary' }, 'Choose a folder');
  const cameraButton = h('button', { type: 'button', class: 'secondary' }, 'Take a photo');
  const zone = h(
    'div',
    { class: 'drop-zone', 'data-field': 'drop-zone', role: 'group', 'aria-label': 'Images to classify: drop, paste, choose or take a photo' },
    h('p', {}, h('strong', {}, 'Drop images or a folder here'), ' or paste one (Ctrl/⌘+V)'),
    h('div', { class: 'row center' }, chooseButton, folderButton, cameraButton),
    picker,
    folder,
    camera,
  );
  const take = (files: File[]) => {
    if (files.length > 0) onFiles(files);
  };
  chooseButton.addEventListener('click', () => picker.click());
  folderButton.addEventListener('click', () => folder.click());
  cameraButton.addEventListener('click', () => camera.click());
  for (const input of [picker, folder, camera]) {
    input.addEventListener('change', () => {
      take(sortedByName([...(input.files ?? [])]));
      input.value = ''; // the same files again are a new choice
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
    if (!event.dataTransfer) return;
    void droppedFiles(event.dataTransfer).then(take, () => take([...event.dataTransfer!.files]));
  });
  document.addEventListener('paste', (event) => {
    const target = event.target as HTMLElement | null;
    if (target?.closest('input, textarea')) return; // pasting text into a field
    const file = [...(event.clipboardData?.files ?? [])][0];
    if (file) {
      event.preventDefault();
      onFiles([file]);
    }
  });
  return zone;
}

const sortedByName = (files: File[]): File[] => files.sort((a, b) => displayName(a).localeCompare(displayName(b), undefined, { numeric: true }));

/**
 * The files of a drop, folders walked to every file inside. The entries must be taken while the
 * drop event runs (the DataTransfer is emptied after it); the walk itself may take longer.
 */
function droppedFiles(transfer: DataTransfer): Promise<File[]> {
  const items = [...transfer.items].filter((item) => item.kind === 'file');
  const entries = items.map((item) => ({ entry: item.webkitGetAsEntry?.() ?? null, file: item.getAsFile() }));
  if (entries.length === 0) return Promise.resolve(sortedByName([...transfer.files]));
  return (async () => {
    const out: File[] = [];
    for (const { entry, file } of entries) {
      if (entry?.isDirectory) out.push(...(await filesInFolder(entry as FileSystemDirectoryEntry)));
      else if (file) out.push(file);
    }
    return sortedByName(out);
  })();
}

/** Every file under a dropped folder, its path kept in the name shown. */
async function filesInFolder(dir: FileSystemDirectoryEntry): Promise<File[]> {
  const reader = dir.createReader();
  const out: File[] = [];
  // readEntries hands a large folder over in pieces (100 at a time in Chromium) until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return out;
    for (const entry of batch) {
      if (entry.isDirectory) out.push(...(await filesInFolder(entry as FileSystemDirectoryEntry)));
      else if (entry.isFile) {
        const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
        const path = entry.fullPath.replace(/^\//, '');
        out.push(path && path !== file.name ? new File([file], path, { type: file.type, lastModified: file.lastModified }) : file);
      }
    }
  }
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
