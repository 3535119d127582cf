/**
 * A static export (`out/`): no Node process at run time. The API service serves it at `/`
 * (api/frontend.py). trailingSlash: `/trade` is exported as `trade/index.html`, which any static
 * server finds for `/trade/`.
 *
 * @type {import('next').NextConfig}
 */
const nextConfig = {
  output: 'export',
  trailingSlash: true,
  reactStrictMode: true,
  images: { unoptimized: true },
  poweredByHeader: false,
};

export default nextConfig;
