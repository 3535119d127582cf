import { MarketsTable } from '@/components/MarketsTable';

export default function MarketsPage() {
  return (
    <section className="panel markets-page">
      <h1>Markets</h1>
      <MarketsTable />
    </section>
  );
}
