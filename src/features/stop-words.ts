// The built-in English stop-word list of the word tokenizer (`stopWords: 'english'`): articles, pronouns,
// auxiliaries, prepositions, conjunctions and the fragments an apostrophe split leaves ("don't" → "don", "t").
// Lowercase, after NFKC. Content words that merely happen to be frequent (e.g. "email", "free") are deliberately
// absent: whether they carry signal is for feature selection to decide, not for the tokenizer.
const WORDS = `
a about above across after afterwards again against all almost alone along already also although always am
among an and another any anyhow anyone anything anyway anywhere are around as at
be became because become becomes been before beforehand behind being below beside besides between beyond both
but by
can cannot could
did do does doing down during
each either else elsewhere enough etc even ever every everyone everything everywhere except
few for former formerly from further furthermore
had has have having he hence her here hereby herein hers herself him himself his how however
i ie if in indeed instead into is it its itself
just
latter least less
many may me meanwhile might mine more moreover most mostly much must my myself
namely neither never nevertheless no nobody none noone nor not nothing now nowhere
of off often on once only onto or other others otherwise ought our ours ourselves out over own
per perhaps
quite
rather
same several shall she should since so some somehow someone something sometimes somewhere still such
than that the their theirs them themselves then thence there thereafter thereby therefore therein these they
this those though through throughout thus to together too toward towards
under unless until up upon us
very via
was we were what whatever when whence whenever where whereas whereby wherever whether which while who
whoever whom whose why will with within without would
yet you your yours yourself yourselves
s t d ll m re ve
aren couldn didn doesn don hadn hasn haven isn mightn mustn needn shan shouldn wasn weren won wouldn
`;

export const ENGLISH_STOP_WORDS: readonly string[] = Object.freeze(WORDS.split(/\s+/).filter((w) => w.length > 0));
