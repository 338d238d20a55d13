import { useMemo } from 'react';
import { create } from 'qrcode';

/** The blank border a scanner needs around the symbol, in modules (ISO/IEC 18004). */
const QUIET_ZONE = 4;

export interface QrCodeProps {
  value: string;
  /** What a screen reader says instead of the picture. */
  label: string;
}

/**
 * A QR code drawn as React SVG elements from the `qrcode` package's module matrix: no HTML string
 * inserted, no inline style, no data: URL, so the page's CSP holds. One path of 1×1 squares.
 */
export function QrCode({ value, label }: QrCodeProps) {
  const { size, path } = useMemo(() => {
    const { modules } = create(value, { errorCorrectionLevel: 'M' });
    let d = '';
    for (let row = 0; row < modules.size; row += 1) {
      for (let col = 0; col < modules.size; col += 1) {
        if (modules.get(row, col)) d += `M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`;
      }
    }
    return { size: modules.size + 2 * QUIET_ZONE, path: d };
  }, [value]);

  return (
    <svg className="qr-code" viewBox={`0 0 ${size} ${size}`} role="img" aria-label={label} shapeRendering="crispEdges" xmlns="http://www.w3.org/2000/svg">
      <rect width={size} height={size} fill="#ffffff" />
      <path d={path} fill="#000000" />
    </svg>
  );
}
