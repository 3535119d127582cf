import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';

import { ExchangeProvider } from '@/components/ExchangeProvider';
import { Header } from '@/components/Header';

import './globals.css';

export const metadata: Metadata = {
  title: 'E-Mudra-Bajar',
  description: 'An open, real-time stock exchange',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <ExchangeProvider>
          <Header />
          <main>{children}</main>
        </ExchangeProvider>
      </body>
    </html>
  );
}
