import QRCode from 'qrcode';

/** Draws `text` as a QR code on a canvas, large enough to scan from across a table. */
export async function drawQr(canvas: HTMLCanvasElement, text: string): Promise<void> {
  await QRCode.toCanvas(canvas, text, { errorCorrectionLevel: 'M', margin: 2, width: 280, color: { dark: '#0b1f2e', light: '#ffffff' } });
}
