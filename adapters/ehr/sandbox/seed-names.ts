/**
 * Word lists for synthetic demo people and places. Embedded (not read from disk) so the sandbox works from
 * any install. The mix of backgrounds mirrors a Boston-area community health centre, which is what makes
 * preferred-language and interpreter flows worth testing.
 */

/** Lists are written as one comma-separated string to keep this file readable. */
function list(text: string): readonly string[] {
  return text.split(/,\s*/);
}

export interface LanguageCode {
  readonly code: string;
  readonly display: string;
}

export interface NameOrigin {
  readonly weight: number;
  readonly male: readonly string[];
  readonly female: readonly string[];
  readonly family: readonly string[];
  /** Preferred language recorded for part of the patients with this background. */
  readonly language?: LanguageCode & { readonly share: number };
}

export const NAME_ORIGINS: readonly NameOrigin[] = [
  {
    weight: 55,
    male: list(
      'James, Michael, Robert, John, David, William, Richard, Joseph, Thomas, Daniel, Matthew, Anthony, Mark, Steven, Andrew, Joshua, Kevin, Brian, Ryan, Patrick, Sean, Connor, Ethan, Noah, Liam, Owen, Marcus, Jamal, Darnell, Tyrone',
    ),
    female: list(
      'Mary, Patricia, Jennifer, Linda, Elizabeth, Barbara, Susan, Jessica, Sarah, Karen, Emily, Megan, Nicole, Rachel, Laura, Katherine, Hannah, Olivia, Emma, Abigail, Siobhan, Colleen, Maureen, Keisha, Aaliyah, Imani, Grace, Claire, Margaret, Ruth',
    ),
    family: list(
      "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas, Moore, Jackson, Martin, Thompson, White, Harris, Clark, Lewis, Walker, O'Brien, Sullivan, Murphy, Kelly, Fitzgerald, McCarthy, Doyle, Flaherty, Walsh, Ryan, Russo, Bianchi, DeLuca, Cohen, Goldberg, Washington, Robinson, Coleman, Greene, Young",
    ),
    language: { code: 'en', display: 'English', share: 0.1 },
  },
  {
    weight: 20,
    male: list('José, Luis, Carlos, Juan, Miguel, Jorge, Alejandro, Diego, Mateo, Javier, Santiago, Andrés'),
    female: list(
      'María, Guadalupe, Rosa, Ana, Carmen, Lucía, Sofía, Valentina, Isabel, Gabriela, Camila, Daniela',
    ),
    family: list(
      'García, Rodríguez, Martínez, Hernández, López, González, Pérez, Sánchez, Ramírez, Torres, Rivera, Flores, Gómez, Díaz, Reyes, Morales, Cruz, Ortiz, Vargas, Castillo',
    ),
    language: { code: 'es', display: 'Spanish', share: 0.55 },
  },
  {
    weight: 7,
    male: list('Minh, Tuan, Duc, Hieu, Long, Quang, Thanh, Khoa'),
    female: list('Linh, Lan, Mai, Huong, Thao, Trang, Ngoc, Hoa'),
    family: list('Nguyen, Tran, Le, Pham, Hoang, Vu, Dang, Bui, Do, Ngo'),
    language: { code: 'vi', display: 'Vietnamese', share: 0.6 },
  },
  {
    weight: 7,
    male: list('Wei, Jun, Hao, Ming, Jian, Lei, Yong, Chen'),
    female: list('Mei, Xiu, Li, Ying, Fang, Hui, Yan, Jing'),
    family: list('Wang, Li, Zhang, Liu, Chen, Yang, Huang, Zhao, Wu, Zhou, Chan, Wong'),
    language: { code: 'zh', display: 'Chinese', share: 0.5 },
  },
  {
    weight: 6,
    male: list('João, Pedro, Paulo, Tiago, Rafael, Lucas, Gustavo, Bruno'),
    female: list('Ana, Beatriz, Fernanda, Juliana, Mariana, Larissa, Adriana, Renata'),
    family: list('Silva, Santos, Oliveira, Souza, Costa, Pereira, Almeida, Ferreira, Carvalho, Medeiros'),
    language: { code: 'pt', display: 'Portuguese', share: 0.5 },
  },
  {
    weight: 5,
    male: list('Jean, Pierre, Jacques, Emmanuel, Wesner, Frantz, Ricardo, Stanley'),
    female: list('Marie, Rose, Guerline, Nadège, Fabienne, Widline, Mirlande, Esther'),
    family: list(
      'Jean-Baptiste, Pierre, Joseph, Louis, Charles, Toussaint, Étienne, Dorvil, Alexis, Celestin',
    ),
    language: { code: 'ht', display: 'Haitian Creole', share: 0.45 },
  },
];

/** A city with its ZIP code and the landline area codes that serve it (mobiles may come from anywhere). */
export interface City {
  readonly name: string;
  readonly postalCode: string;
  readonly areaCodes: readonly string[];
}

export const STATE = 'MA';

export const CITIES: readonly City[] = [
  { name: 'Boston', postalCode: '02118', areaCodes: ['617', '857'] },
  { name: 'Boston', postalCode: '02124', areaCodes: ['617', '857'] },
  { name: 'Boston', postalCode: '02130', areaCodes: ['617', '857'] },
  { name: 'Cambridge', postalCode: '02139', areaCodes: ['617', '857'] },
  { name: 'Somerville', postalCode: '02143', areaCodes: ['617', '857'] },
  { name: 'Quincy', postalCode: '02169', areaCodes: ['617', '857'] },
  { name: 'Chelsea', postalCode: '02150', areaCodes: ['617', '857'] },
  { name: 'Malden', postalCode: '02148', areaCodes: ['781', '339'] },
  { name: 'Lynn', postalCode: '01902', areaCodes: ['781', '339'] },
  { name: 'Revere', postalCode: '02151', areaCodes: ['781', '339'] },
  { name: 'Brockton', postalCode: '02301', areaCodes: ['508', '774'] },
  { name: 'Worcester', postalCode: '01608', areaCodes: ['508', '774'] },
  { name: 'Lowell', postalCode: '01852', areaCodes: ['978', '351'] },
  { name: 'Lawrence', postalCode: '01841', areaCodes: ['978', '351'] },
];

export const STREETS: readonly string[] = list(
  'Main St, Washington St, Centre St, Tremont St, Dorchester Ave, Blue Hill Ave, Columbia Rd, Broadway, Elm St, Maple Ave, Oak St, Pleasant St, Highland Ave, School St, Summer St, Park St, Chestnut St, Walnut St, Hancock St, Adams St, Cedar St, Union St, Prospect St, Franklin St, Harvard St',
);

export const EMAIL_DOMAINS: readonly string[] = ['example.com', 'example.org', 'example.net'];
