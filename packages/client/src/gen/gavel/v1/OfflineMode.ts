// Original file: proto/gavel/v1/audit.proto

export const OfflineMode = {
  OFFLINE_MODE_UNSPECIFIED: 'OFFLINE_MODE_UNSPECIFIED',
  OFFLINE_MODE_CLOSED: 'OFFLINE_MODE_CLOSED',
  OFFLINE_MODE_OPEN: 'OFFLINE_MODE_OPEN',
  OFFLINE_MODE_FALLBACK: 'OFFLINE_MODE_FALLBACK',
} as const;

export type OfflineMode =
  | 'OFFLINE_MODE_UNSPECIFIED'
  | 0
  | 'OFFLINE_MODE_CLOSED'
  | 1
  | 'OFFLINE_MODE_OPEN'
  | 2
  | 'OFFLINE_MODE_FALLBACK'
  | 3

export type OfflineMode__Output = typeof OfflineMode[keyof typeof OfflineMode]
